"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

ansible-test --venv bootstraps pip in each sanity virtualenv with a pinned get-pip.py fetched
from ci-files.testing.ansible.com; where only PyPI is reachable that download fails. This does
the same job from pieces that are always there: the interpreter's bundled pip (ensurepip), then
``pip install`` of the packages ansible-test asked for (the pinned pip). .ci/sanity.sh copies it
to ansible-test's cache path only when the real script is not cached already.
"""

import subprocess
import sys

FLAGS = {"--no-setuptools", "--no-wheel"}
args = [arg for arg in sys.argv[1:] if arg not in FLAGS]
# In a child: ensurepip points PIP_CONFIG_FILE at /dev/null in its own process, and the
# machine's pip config (index, certificates) must still apply to the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
if "--no-setuptools" in sys.argv[1:]:
    # ensurepip brings setuptools along before Python 3.12; the real get-pip.py would not have
    subprocess.call([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "setuptools"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
