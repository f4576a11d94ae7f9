from fit import *
W = base
ART_FIT = ['dev','second','third']; ART_HO = ['fourth']
def conf(q, cs, cc, ck=0.0):
    t = top(q, W)
    if t is None: return -1
    s = max(t['similarity'] or 0, t['sentence_similarity'] or 0)
    return cs*s + cc*t['coverage'] + ck*q['known_share']
def auroc(pos, neg):
    n = 0; c = 0
    for p in pos:
        for q in neg:
            n += 1; c += (p > q) + 0.5*(p == q)
    return c/n
def split(names, f, rules):
    pos = []; neg = []
    for nm in names:
        for q in sets[nm]:
            v = f(q)
            if rules and q['objections']: v = -1
            (pos if q['answerable'] else neg).append(v)
    return pos, neg
for rules in (True, False):
  print('rules', rules)
  for cc in [0, 0.25, 0.5, 1.0]:
    for ck in [0, 0.5]:
      f = lambda q: conf(q, 1, cc, ck)
      pos, neg = split(ART_FIT, f, rules)
      # threshold: largest t with answered >= 0.96 on fit answerable (article + normans)
      posall = pos + split(['normans'], f, rules)[0]
      ts = sorted(posall)
      t = ts[int(0.04*len(ts))]
      def rates(names):
          p, n = split(names, f, rules)
          return sum(v >= t for v in p)/len(p), (sum(v < t for v in n)/len(n) if n else float('nan'))
      print(f' cc {cc} ck {ck} AUROC fit %.3f t %.3f' % (auroc(pos, neg), t),
            'fit %.3f/%.3f' % rates(ART_FIT), 'normans %.3f' % rates(['normans'])[0], '| fourth %.3f/%.3f' % rates(ART_HO), 'sky %.3f' % rates(['sky'])[0])
