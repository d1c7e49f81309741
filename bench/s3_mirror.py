#!/usr/bin/env python3
"""Makes an S3 bucket mirror a local folder: uploads files the bucket lacks or holds with a
different size, deletes keys the folder no longer has. Used by bench/s3_sync.sh to load the
shared corpus into moto_server and to carry `gen_corpus.py mutate` over to the bucket.

  s3_mirror.py ENDPOINT BUCKET DIR
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def main():
    endpoint, bucket, root = sys.argv[1:4]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="bench", aws_secret_access_key="bench",
                      config=Config(max_pool_connections=32))
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    have = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            have[o["Key"]] = o["Size"]
    want = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            want[os.path.relpath(p, root)] = (p, os.path.getsize(p))
    put = [(k, p) for k, (p, size) in want.items() if have.get(k) != size]
    gone = [k for k in have if k not in want]

    def upload(item):
        k, p = item
        s3.upload_file(p, bucket, k)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(upload, put))
    for i in range(0, len(gone), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in gone[i:i + 1000]]})
    print(f"bucket {bucket}: {len(put)} uploaded, {len(gone)} deleted, {len(want)} objects")


if __name__ == "__main__":
    main()
