#!/bin/bash
# Runs inside the container (not booted yet), as the guide's section 1 does on a server:
# scripts/setup from the checkout (/src, read-only) with a wheelhouse, the sysusers file,
# the units, a configuration, Postfix pointed at the milter; then a probe unit that runs
# once the system is up (tests/e2e/nspawn/probe.py) and powers the container off.
set -euo pipefail
cd /src
CONGVU_GUARD_VENV=/opt/congvu-guard/venv bash scripts/setup --wheelhouse /wheelhouse
install -D -m 640 /dev/stdin /etc/congvu-guard/congvu-guard.toml <<'TOML'
[redis]
url = "redis://127.0.0.1:6379/0"
[domains]
official = ["hue.gov.vn", "*.gov.vn"]
[report]
address = "tiepnhan@hue.gov.vn"
[monitor]
listen = "127.0.0.1:9817"
users_file = "/var/lib/congvu-guard/monitor-users"
[ratelimit]
hook_queue = "/var/spool/congvu-guard/hooks"
TOML
# The probe's API client: token "probe-token-1234567890" (sha256, as monitor-user add writes).
install -D -m 644 /dev/stdin /var/lib/congvu-guard/monitor-users <<'USERS'
probe operator sha256:SHA
USERS
sed -i "s/SHA/$(printf %s probe-token-1234567890 | sha256sum | cut -d' ' -f1)/" \
  /var/lib/congvu-guard/monitor-users
# Zimbra stand-in: the zimbra account and a zmprov that records its calls.
useradd --system --user-group --home-dir /opt/zimbra zimbra
# As in Zimbra: /opt/zimbra belongs to root, its log directory to zimbra.
install -d /opt/zimbra/bin
install -d -o zimbra -g zimbra /opt/zimbra/log
install -m 755 /dev/stdin /opt/zimbra/bin/zmprov <<'ZMPROV'
#!/bin/sh
echo "$(id -un) $*" >> /opt/zimbra/log/calls
ZMPROV
cp systemd/congvu-guard.sysusers.conf /usr/lib/sysusers.d/congvu-guard.conf
systemd-sysusers
chgrp congvu-guard /etc/congvu-guard/congvu-guard.toml
cp systemd/congvu-guard-milter.service systemd/congvu-guard-monitor.service /etc/systemd/system/
systemctl enable congvu-guard-milter congvu-guard-monitor redis-server postfix
cp systemd/congvu-guard-zimbra.tmpfiles.conf /etc/tmpfiles.d/congvu-guard-zimbra.conf
systemd-tmpfiles --create /etc/tmpfiles.d/congvu-guard-zimbra.conf
cp systemd/congvu-guard-zimbra-hooks.path systemd/congvu-guard-zimbra-hooks.service \
  /etc/systemd/system/
systemctl enable congvu-guard-zimbra-hooks.path
postconf -e "smtpd_milters = unix:/run/congvu-guard/milter.sock" \
  "non_smtpd_milters = unix:/run/congvu-guard/milter.sock" "milter_protocol = 6" \
  "milter_default_action = tempfail" "message_size_limit = 31457280" \
  "inet_interfaces = loopback-only" "myhostname = mx.hue.gov.vn" "mydestination = localhost" \
  "smtpd_relay_restrictions = permit_mynetworks, reject"
# The chroot column of master.cf: smtpd outside the chroot reaches /run/congvu-guard.
postconf -F "smtp/inet/chroot = n"
cat > /etc/systemd/system/congvu-probe.service <<'UNIT'
[Unit]
Description=congvu-guard boot test probe
After=multi-user.target postfix.service congvu-guard-milter.service congvu-guard-monitor.service
After=congvu-guard-zimbra-hooks.path
[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /out/probe.py
ExecStopPost=/bin/systemctl --no-block poweroff
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable congvu-probe.service
