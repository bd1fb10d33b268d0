# Copyright (c) hib-orchestrator developers
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
# Documentation only: the work is done on the controller by plugins/action/provider_images.py.
from __future__ import annotations

DOCUMENTATION = r"""
module: provider_images
short_description: Back up an image host into hib's content-addressed image store
version_added: "0.1.0"
description:
  - Lists the provider flat (no per-object HEAD), downloads only objects whose key, size or
    native checksum changed since the last snapshot, verifies every download (MD5 against a
    single-part ETag, git blob SHA-1, or size), and stores it once by SHA-256 in the
    content-addressed image store (C(HIB_IMAGE_STORE)); one snapshot per provider per run is
    recorded in the run database.
  - Runs on the controller; nothing is shipped to the host. Use C(ansible_connection=local).
  - The provider type comes from C(hib_provider) (C(s3), C(oss), C(cos), C(github), C(smms),
    C(imgur), C(local), C(oss-sdk) and C(cos-sdk) (the vendors' native SDKs, extras
    C(oss-sdk)/C(cos-sdk)), or any plug-in registered in the C(hib_orchestrator.providers)
    entry-point group). Its settings come from the host's other C(hib_*) variables with the
    prefix removed, e.g. C(hib_endpoint), C(hib_bucket), C(hib_region), C(hib_prefix),
    C(hib_access_key_id), C(hib_secret_access_key), C(hib_addressing_style) (S3 family);
    C(hib_repo), C(hib_branch), C(hib_mode) (mirror or api), C(hib_url), C(hib_api),
    C(hib_token), C(hib_path) (GitHub); C(hib_endpoint), C(hib_token) (SM.MS); C(hib_api),
    C(hib_client_id), C(hib_client_secret), C(hib_refresh_token), C(hib_access_token) (Imgur);
    C(hib_path) (local folder). Vault values and lookups work; credentials are never returned.
  - Reports C(changed) only when new content arrived (new or changed objects). A key deleted
    upstream becomes a tombstone; its blob is kept.
  - Failures are results with a stable C(error_code) (C(AUTH_FAILED), C(RATE_LIMITED),
    C(NOT_FOUND), C(CHECKSUM_MISMATCH), C(NETWORK), C(UNSUPPORTED_PROVIDER), C(STORE_ERROR),
    C(BAD_CONFIG)); a run where some objects failed is failed, and the objects that arrived are
    kept, so the next run resumes.
author:
  - hib-orchestrator developers (@hib-orchestrator)
options:
  provider:
    description: Provider type; overrides C(hib_provider).
    type: str
  settings:
    description: Provider settings merged over the C(hib_*) host variables (keys without prefix).
    type: dict
  workers:
    description: Concurrent downloads (C(hib_workers), default 8).
    type: int
  rate_limit:
    description: Requests per second to this provider (C(hib_rate_limit), default no cap).
    type: float
  retries:
    description:
      - Extra attempts per listing and per object after a transient failure (C(hib_retries),
        default 4), with exponential backoff and jitter; C(Retry-After) and rate-limit headers
        are honoured.
    type: int
notes:
  - Supports check mode - the provider is listed and compared, C(objects) and C(changed) say
    what a backup would do, nothing is downloaded or recorded.
"""

EXAMPLES = r"""
- name: Back up every image host
  hosts: image_hosts
  gather_facts: false
  vars:
    ansible_connection: local
  tasks:
    - name: Incremental, verified image backup
      hib.orchestrator.provider_images:

- name: One bucket, capped at 20 requests/s
  hosts: pictures_bucket
  gather_facts: false
  vars:
    ansible_connection: local
  tasks:
    - name: Back up the bucket with settings given to the task
      hib.orchestrator.provider_images:
        provider: s3
        rate_limit: 20
        settings:
          endpoint: https://s3.example.net
          bucket: pictures
          access_key_id: "{{ lookup('env', 'S3_KEY') }}"
          secret_access_key: "{{ lookup('env', 'S3_SECRET') }}"
"""

RETURN = r"""
changed:
  description: True when new content arrived (new or changed objects).
  returned: always
  type: bool
hib_kind:
  description: Always C(provider).
  returned: always
  type: str
objects:
  description: Counts of this run.
  returned: success or object failures
  type: dict
  contains:
    new:
      description: Keys seen for the first time.
      returned: always
      type: int
    changed:
      description: Keys whose content changed.
      returned: always
      type: int
    unchanged:
      description: Keys skipped (same size and checksum).
      returned: always
      type: int
    deleted_upstream:
      description: Keys gone upstream (tombstoned, blob kept).
      returned: always
      type: int
    failed:
      description: Objects that failed after retries.
      returned: always
      type: int
    bytes:
      description: Bytes downloaded.
      returned: always
      type: int
status:
  description: Snapshot status C(ok), C(partial) (some objects failed) or C(failed).
  returned: when the backup ran
  type: str
snapshot_id:
  description: Id of the snapshot recorded for this run.
  returned: when the backup ran
  type: int
run_id:
  description: C(HIB_RUN_ID) when numeric, else null.
  returned: when the backup ran
  type: int
duration_s:
  description: Wall time of the backup.
  returned: when the backup ran
  type: float
size_bytes:
  description: Bytes downloaded (same as C(objects.bytes)).
  returned: when the backup ran
  type: int
attempts:
  description: Always 1 (retries happen per listing and per object).
  returned: when the backup ran
  type: int
sha256:
  description: Always null (one value per object; see C(hib images ls)).
  returned: always
  type: str
commit:
  description: Always null (image backups make no git commit).
  returned: always
  type: str
error_code:
  description: Stable error code on failure.
  returned: failure
  type: str
failures:
  description: Up to 20 failed objects with C(key), C(code), C(message).
  returned: failure
  type: list
  elements: dict
msg:
  description: One human line.
  returned: always
  type: str
"""
