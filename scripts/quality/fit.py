import json, sys, itertools, random
import os
T = os.environ.get('TAG','base')
def load(name):
    return [json.loads(l) for l in open(os.environ.get('FIT','/tmp/fit') + f'/{T}/{name}.jsonl')]
FEATS = ['bm25','coverage','proximity','similarity','sentence_similarity','defines','answer_kind','bare_label']
def vec(h):
    return [float(h[f] or 0) if not isinstance(h[f], bool) else float(h[f]) for f in FEATS]
sets = {n: load(n) for n in ['dev','second','third','fourth','normans','sky']}
for n, qs in sets.items():
    for q in qs:
        q['X'] = [vec(h) for h in q['hits']]
        q['R'] = [h['relevant'] for h in q['hits']]
def rank_stats(qs, w):
    h1 = h3 = mrr = 0; n = 0
    for q in qs:
        if not q['answerable']: continue
        n += 1
        sc = [sum(a*b for a, b in zip(w, x)) for x in q['X']]
        order = sorted(range(len(sc)), key=lambda i: -sc[i])
        r = next((k for k, i in enumerate(order[:10]) if q['R'][i]), None)
        if r is not None:
            h1 += r < 1; h3 += r < 3; mrr += 1/(r+1)
    return h1/n, h3/n, mrr/n
def top(q, w):
    sc = [sum(a*b for a, b in zip(w, x)) for x in q['X']]
    if not sc: return None
    return q['hits'][max(range(len(sc)), key=lambda i: sc[i])]
base = [1.0, 1.0, 0.1, 1.0, 1.0, 0.5, 0.5, -0.5]
fit_sets = ['dev','second','third','normans']
def objective(w):
    s = 0
    for n in fit_sets:
        h1, h3, mrr = rank_stats(sets[n], w)
        s += h1 + mrr
    return s
def fit(w, fixed=()):
    w = list(w); best = objective(w)
    steps = [0.5, 0.25, 0.1, 0.05]
    for step in steps:
        improved = True
        while improved:
            improved = False
            for i in range(len(w)):
                if i in fixed: continue
                for d in (step, -step):
                    w2 = list(w); w2[i] = round(w2[i] + d, 3)
                    if FEATS[i] == 'bare_label':
                        pass
                    o = objective(w2)
                    if o > best + 1e-9:
                        best, w, improved = o, w2, True
    return w
if __name__ == '__main__':
    print("base", base)
    for n in sets: print(f'  {n:8} H1 %.3f H3 %.3f MRR %.3f' % rank_stats(sets[n], base))
    # bm25 weight fixed at 1 (scale)
    w = fit(base, fixed=(0,))
    print('fit', w)
    for n in sets: print(f'  {n:8} H1 %.3f H3 %.3f MRR %.3f' % rank_stats(sets[n], w))
    json.dump(w, open(os.environ.get('FIT','/tmp/fit') + f'/{T}/w.json','w'))
