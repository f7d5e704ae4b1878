"""Print the spans Phoenix stored for a project, as its REST API returns
them (OTLP-shaped JSON): `spans.py BASE_URL PROJECT`."""

import json
import sys
import urllib.error
import urllib.request

base, project = sys.argv[1], sys.argv[2]
url = f"{base}/v1/projects/{project}/spans/otlpv1?limit=1000"
try:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
except urllib.error.HTTPError as error:
    # No span yet: the project does not exist until the first one lands.
    if error.code == 404:
        body = {"data": []}
    else:
        raise
json.dump(body.get("data", []), sys.stdout)
