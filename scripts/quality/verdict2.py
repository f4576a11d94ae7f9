from verdict import *
R = ['a name the corpus never uses','a name the best passage lacks','no passage defines the subject']
import itertools
def run(keep, cc=0.5, show=True):
    f0 = lambda q: conf(q, 1, cc)
    def f(q):
        if 'query syntax' in q['objections'] or any(o in keep for o in q['objections']): return -1
        return f0(q)
    def sp(names):
        pos=[];neg=[]
        for nm in names:
            for q in sets[nm]: (pos if q['answerable'] else neg).append(f(q))
        return pos,neg
    pos = sp(ART_FIT)[0] + sp(['normans'])[0]
    t = sorted(pos)[int(0.04*len(pos))]
    def rates(names):
        p,n = sp(names); return sum(v>=t for v in p)/len(p), (sum(v<t for v in n)/len(n) if n else float('nan'))
    if show: print(f'{str([k[:12] for k in keep]):60} t %.3f' % t, 'fit %.3f/%.3f' % rates(ART_FIT), 'normans %.3f/%.3f' % rates(['normans']), '| fourth %.3f/%.3f' % rates(ART_HO), 'sky %.3f/%.3f' % rates(['sky']))
    return t
for k in range(4):
    for keep in itertools.combinations(R, k): run(keep)
