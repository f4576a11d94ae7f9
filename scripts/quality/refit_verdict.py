#!/usr/bin/env python3
"""The verdict's score and threshold. Cross-validation over the six article sets (each left out
in turn): a logistic regression on the chosen signals, the threshold answering `target` of the
other sets' answerable questions, scored on the left-out set. Then the fit on all six: the
coverage weight beside `nearest_similarity` and the curve that picks the threshold.

    DUMPS=dir python3 scripts/quality/refit_verdict.py

DUMPS holds `citebot eval SET --dump DUMPS/NAME-questions.jsonl` for the six article sets.
"""
import glob
import json
import os

import numpy as np

D = os.environ.get("DUMPS", "/tmp/d")
sets = {}
for p in sorted(glob.glob(f"{D}/*-questions.jsonl")):
    sets[p.split('/')[-1].split('-')[0]] = [json.loads(l) for l in open(p)]
def feats(r):
    h=r['hits']
    if not h: return None
    t=h[0]; ss=t['sentence_similarity'] or 0; ps=t['similarity'] or 0
    mx=max((x['sentence_similarity'] or 0) for x in h)
    mxp=max((x['similarity'] or 0) for x in h)
    return [ss, ps, t['coverage'], r['known_share'], t['proximity'], mx, mxp, r['nearest_similarity'] or 0]
NAMES=['ss','ps','cov','ks','prox','maxss','maxps','near']
def data(recs):
    X=[];y=[];ok=[]
    for r in recs:
        f=feats(r)
        if r['objections'] or f is None: f=None
        X.append(f); y.append(r['answerable'])
    return X,y
def logreg(X,y,l2=1.0,it=3000):
    X=np.array(X);y=np.array(y,float)
    mu=X.mean(0);sd=X.std(0)+1e-9;Z=(X-mu)/sd
    Z=np.hstack([Z,np.ones((len(Z),1))]);w=np.zeros(Z.shape[1])
    for i in range(it):
        p=1/(1+np.exp(-Z@w)); g=Z.T@(p-y)/len(y)+l2*np.r_[w[:-1],0]/len(y); w-=0.5*g
    return lambda x: float(np.r_[(np.array(x)-mu)/sd,1]@w)
def evaluate(score, cols, target=0.955):
    res={}
    for held in sets:
        tr=[r for n,rs in sets.items() if n!=held for r in rs]
        Xt,yt=data(tr); keep=[i for i,x in enumerate(Xt) if x is not None]
        sc = score([[Xt[i][c] for c in cols] for i in keep],[yt[i] for i in keep])
        s=[sc([x[c] for c in cols]) if x is not None else -1e9 for x in Xt]
        pos=sorted(v for v,a in zip(s,yt) if a)
        # threshold: largest t s.t. share of pos >= t is >= target
        k=int(np.floor((1-target)*len(pos))); t=pos[k]
        Xh,yh=data(sets[held]); sh=[sc([x[c] for c in cols]) if x is not None else -1e9 for x in Xh]
        a=np.mean([v>=t for v,b in zip(sh,yh) if b]); d=np.mean([v<t for v,b in zip(sh,yh) if not b])
        res[held]=(a,d)
    A=np.mean([v[0] for v in res.values()]); D=np.mean([v[1] for v in res.values()])
    return res,A,D
def current(X, y):
    return lambda x: x[0] + 0.5 * x[1]


for tgt in [0.96, 0.97, 0.975]:
    for name, sc, cols in [('top sentence + 0.5 coverage (before)', current, [0, 2]),
                           ('logistic: top sentence, coverage', logreg, [0, 2]),
                           ('logistic: nearest, coverage', logreg, [7, 2])]:
        res, A, D_ = evaluate(sc, cols, tgt)
        print('%.3f %-38s left-out answered %.3f declined %.3f' % (tgt, name, A, D_))

allr = [r for rs in sets.values() for r in rs]
X, y = data(allr)
keep = [i for i, x in enumerate(X) if x is not None]
Xk = np.array([[X[i][7], X[i][2]] for i in keep])
yk = np.array([y[i] for i in keep], float)
mu, sd = Xk.mean(0), Xk.std(0)
Z = np.hstack([(Xk - mu) / sd, np.ones((len(Xk), 1))])
w = np.zeros(3)
for _ in range(5000):
    p = 1 / (1 + np.exp(-Z @ w))
    w -= 0.5 * (Z.T @ (p - yk) / len(yk) + np.r_[w[:-1], 0] / len(yk))
ratio = (w[1] / sd[1]) / (w[0] / sd[0])
print('coverage weight beside nearest_similarity: %.2f' % ratio)
