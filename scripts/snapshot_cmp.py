#!/usr/bin/env python3
"""Compares two scripts/snapshot.sh outputs line by line as JSON; prints the
first difference of each file and the number of files that differ."""
import json,os,sys
# Fields added since a snapshot may be ignored: SNAPSHOT_IGNORE=carrier,stream
import os as _os
drop=set(filter(None, _os.environ.get("SNAPSHOT_IGNORE", "").split(",")))
diffs=0
A,B=sys.argv[1],sys.argv[2]
for f in sorted(set(os.listdir(A)) | set(os.listdir(B))):
    if not (os.path.exists(A+'/'+f) and os.path.exists(B+'/'+f)):
        print("MISSING", f); diffs+=1; continue
    a=open(A+'/'+f).read().splitlines(); b=open(B+'/'+f).read().splitlines()
    if a==b: continue
    if len(a)!=len(b):
        print("LEN",f,len(a),len(b)); diffs+=1; continue
    for x,y in zip(a,b):
        if x==y: continue
        try:
            jx=json.loads(x); jy=json.loads(y)
        except Exception:
            print("RAW",f,x[:150],'|',y[:150]); diffs+=1
            break
        if isinstance(jy,dict):
            for k in drop: jy.pop(k,None)
        if jx!=jy or (isinstance(jx,dict) and list(jx)!=list(jy)):
            print("DIFF",f); print(' ',x[:300]); print(' ',y[:300]); diffs+=1; break
print(diffs)
