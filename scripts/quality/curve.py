from verdict import *
cc=0.5
def f(q):
    if 'query syntax' in q['objections']: return -1
    return conf(q,1,cc)
def sp(names):
    pos=[];neg=[];right=[]
    for nm in names:
        for q in sets[nm]:
            v=f(q)
            if q['answerable']:
                pos.append(v); t=top(q,W); right.append(bool(t and t['relevant']))
            else: neg.append(v)
    return pos,neg,right
import sys
names = sys.argv[1].split(',')
pos,neg,right = sp(names)
print('names',names, 'answerable',len(pos),'unanswerable',len(neg))
print(' t     answered  declined  risk(wrong top among answered answerable)')
for t in [0.45,0.5,0.55,0.6,0.62,0.64,0.66,0.68,0.7,0.72,0.75,0.8]:
    ans = [r for v,r in zip(pos,right) if v>=t]
    print(' %.2f  %.3f  %.3f  %.3f' % (t, len(ans)/len(pos), (sum(v<t for v in neg)/len(neg)) if neg else float('nan'), 1-sum(ans)/max(1,len(ans))))
