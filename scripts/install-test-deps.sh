#!/usr/bin/env bash
# The system packages the test suite uses, installed with apt when missing (as root, or with
# sudo): nothing is installed when they are all there.
#   openssh-server  the ssh tests run real sshd processes (it brings ssh-keygen, ssh-agent, ssh-add)
#   iproute2        ip: the ssh and partition tests make network namespaces
#   util-linux      chrt (a test checks the scheduling policy) and script (the shell on a terminal)
#   chromium        the dashboard's test drives Debian's chromium headless (playwright-core brings no browser)
set -euo pipefail
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
{ command -v chrt >/dev/null 2>&1 && command -v script >/dev/null 2>&1; } || missing+=(util-linux)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "installing ${missing[*]} with apt-get" >&2
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
