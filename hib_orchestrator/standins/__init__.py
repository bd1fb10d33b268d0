"""Provider stand-ins for the lab and the tests: S3 (moto), GitHub, SM.MS and Imgur servers.

Entry points: :func:`hib_orchestrator.standins.fleet.start` / ``stop`` / ``inventory_hosts`` /
``secrets`` / ``servers``. Needs the ``dev`` extra (moto, werkzeug, boto3).
"""
