#!/usr/bin/env python3
"""The re-ranking weights with the model (bm25, coverage, proximity, passage cosine, sentence
cosine): a grid searched for Hit@1 + MRR@10, leaving out each article set in turn (Normans always
in the fitting data, Sky never), then on all six article sets and Normans.

    DUMPS=dir python3 scripts/quality/refit_ranking.py

DUMPS holds `citebot eval SET -k 30 --dump DUMPS/NAME.jsonl` for NAME in dev second third fourth
fifth sixth normans sky (the dumps keep each candidate's signals, so the order they were made
with does not matter).
"""
import itertools
import json
import os

import numpy as np

D = os.environ.get("DUMPS", "/tmp/d30")
sets = {n: [json.loads(l) for l in open(f"{D}/{n}.jsonl")] for n in ['dev', 'second', 'third', 'fourth', 'fifth', 'sixth', 'normans', 'sky']}
F=['bm25','coverage','proximity','similarity','sentence_similarity']
def prep(rs):
    out=[]
    for r in rs:
        if not r['answerable'] or not r['hits']: continue
        X=np.array([[h[f] or 0 for f in F] for h in r['hits']]); y=np.array([h['relevant'] for h in r['hits']])
        out.append((X,y))
    return out
P={n:prep(rs) for n,rs in sets.items()}
def metrics(w,names):
    h1=[];mrr=[]
    for n in names:
        for X,y in P[n]:
            s=X@w; order=np.argsort(-s,kind='stable'); rel=y[order]
            k=np.argmax(rel) if rel.any() else None
            h1.append(k==0 if k is not None else False); mrr.append(1/(k+1) if k is not None and k<10 else 0)
    return np.mean(h1),np.mean(mrr)
base=np.array([1,1,0.1,1,1.0])
def per(w): return ' '.join('%s %.3f'%(n[:3],metrics(w,[n])[0]) for n in sets)
def fit(names):
    best=None
    for g in grid:
        w=np.array(g,float); h,m=metrics(w,names); key=(m+h)
        if best is None or key>best[0]: best=(key,w)
    return best[1]
arts=['dev','second','third','fourth','fifth','sixth']
grid=list(itertools.product([0,0.1,0.25,0.4],[1.5,2,2.5,3],[0,0.1],[0.5,1,1.5,2],[1.5,2,2.5,3]))
tot=[];totm=[]
for held in arts:
    tr=[n for n in arts if n!=held]+['normans']
    w=fit(tr); a=metrics(w,[held]); b=metrics(base,[held]); tot.append(a[0]-b[0]); totm.append(a[1]-b[1])
    print('held out %-6s w=%s Hit@1 %.3f (before %.3f) MRR %.3f (%.3f) sky %.3f'%(held,w,a[0],b[0],a[1],b[1],metrics(w,['sky'])[0]))
print('mean change on the left-out set: Hit@1 %+.3f MRR %+.3f'%(np.mean(tot),np.mean(totm)))
w=fit(arts+['normans']); print('all', w, per(w))
