from fit import *
def show(name, w):
    r = [rank_stats(sets[n], w) for n in ['dev','second','third','fourth','normans','sky']]
    print(f'{name:24}', ' '.join('%.3f/%.3f' % (a[0], a[2]) for a in r))
print(' '*24, '   '.join(['dev','second','third','fourth','normans','sky']), '(H1/MRR)')
show('base', base)
for i, f in enumerate(FEATS):
    w = list(base); w[i] = 0; show('no '+f, w)
w = list(base); w[3]=w[4]=0; show('no model', w)
w = [1,1,0.1,0,0,0,0,0]; show('lexical core only', w)
w = [1,1,0,1,1,0,0,0]; show('bm25+cov+sim+sent', w)
for a in [0.5,1.5,2,3]:
    w = list(base); w[3]=w[4]=a; show(f'sim x{a}', w)
w = list(base); w[3]=0; w[4]=2; show('sent only x2', w)
w = list(base); w[3]=2; w[4]=0; show('passage only x2', w)
show('no def/kind/bare', [1,1,0.1,1,1,0,0,0])
show('no def/bare', [1,1,0.1,1,1,0,0.5,0])
show('no def/bare/prox', [1,1,0,1,1,0,0.5,0])
show('no def/kind/bare/prox', [1,1,0,1,1,0,0,0])
