#!/usr/bin/env python3
"""BM25 (bm25s, Snowball) over the paragraphs of tests/eval/outside: the peer the other-document targets of issue 22 compare with."""
import json, sys, bm25s, Stemmer
for name in ['normans','sky']:
    corpus = open([f for f in __import__('glob').glob(f'tests/eval/outside/{name}/corpus/*.md')][0]).read()
    paras = [p.strip() for p in corpus.split('\n\n') if p.strip() and not p.startswith('#')]
    st = Stemmer.Stemmer('english'); r = bm25s.BM25(); r.index(bm25s.tokenize(paras, stopwords='en', stemmer=st, show_progress=False), show_progress=False)
    qs = [json.loads(l) for l in open(f'tests/eval/outside/{name}/questions.jsonl')]
    h1=h3=n=0
    for q in qs:
        if not q['answerable']: continue
        n+=1
        d,_ = r.retrieve(bm25s.tokenize([q['question']], stopwords='en', stemmer=st, show_progress=False), k=10, show_progress=False)
        ranks=[i for i,di in enumerate(d[0]) if any(a.lower() in paras[di].lower() for a in q['answers'])]
        if ranks: h1+=ranks[0]<1; h3+=ranks[0]<3
    print(name, n, 'BM25 Hit@1 %.3f Hit@3 %.3f' % (h1/n, h3/n))
