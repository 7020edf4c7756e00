# A receiver written from OpenMetadata's webhook documentation (section
# "HMAC Signature Verification"): verify_signature below is the documented
# snippet, verbatim but for its indentation, which the published page lost.
#
# usage: openmetadata_verify.py PAYLOAD_FILE SIGNATURE SECRET
# Prints True or False and exits 0 or 1 accordingly; any other failure
# (a traceback) also exits 1 but prints neither, so callers check both.

import sys

import hmac
import hashlib

def verify_signature(payload, signature, secret_key):
    expected = hmac.new(
        secret_key.encode('utf-8'),
        payload.encode('utf-8'),
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


if __name__ == "__main__":
    path, signature, secret = sys.argv[1:4]
    # The snippet takes the payload as text; newline="" keeps the bytes
    # exactly as received.
    with open(path, encoding="utf-8", newline="") as f:
        payload = f.read()
    ok = verify_signature(payload, signature, secret)
    print(ok)
    sys.exit(0 if ok else 1)
