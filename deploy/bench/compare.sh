#!/usr/bin/env bash
# Side by side: ftpsgw, pure-ftpd, vsftpd and a bare Go TLS stream, on this
# machine, with the same certificate (RSA-2048), the same bcrypt password
# hash, the same passive range size and the same client (cmd/ftpsbench).
# ftpsgw runs twice: with its default durability = "fsync" (every upload
# synced before it gets its name, as neither peer does), and as
# ftpsgw-nosync with durability = "none", so the cost of the sync shows
# in the same run. Every run starts after a sync(1), so that no run pays
# for the writeback of the uploads before it.
#
#   bash deploy/bench/compare.sh            # the full run (1 GiB transfers, 3 rounds)
#   bash deploy/bench/compare.sh -smoke     # < 30 s: checks that everything runs, not speed
#   BENCH_SIZE=64MiB BENCH_DURATION=5s bash deploy/bench/compare.sh
#
# Needs root (a Unix user with a bcrypt /etc/shadow hash and a PAM service
# for vsftpd), openssl, jq, pure-ftpd (/usr/sbin/pure-ftpd, pure-pw) and the
# vsftpd 3.0.3 that .ci/upstream-ftp.sh extracts. Uses ports 20000-24999 on
# 127.0.0.1. Everything it starts is stopped and its temp dir removed on exit.
#
# Environment (defaults in brackets):
#   BENCH_SIZE [1GiB]            single-stream STOR/RETR file size
#   BENCH_MULTI_N [32]           concurrent sessions of the multi-stream test
#   BENCH_MULTI_SIZE [64MiB]     their file size
#   BENCH_DURATION [10s]         session-rate and small-file run time
#   BENCH_SESSIONS_PARALLEL [16] session-rate workers
#   BENCH_MANY_USERS [10000]     the session-rate test is also run with this many
#                                user names in turn (ftpsgw and pure-ftpd only: vsftpd
#                                would need that many Unix users), so that ftpsgw's
#                                30 s verified-password cache rarely hits: keep it above
#                                the session rate times BENCH_DURATION; 0 skips it
#   BENCH_SMALL_PARALLEL [4]     small-file sessions
#   BENCH_SMALL_SIZE [4KiB]      small file size
#   BENCH_ROUNDS [3]             rounds; the server order rotates every round
#   BENCH_TLS_MAX [1.2]          highest TLS version for every client (pure-ftpd
#                                resumes data sessions only on TLS 1.2)
#   BENCH_VERIFY [1]             0: the client does not sha256-check downloads (less client
#                                CPU on the same cores, so RETR figures are less client-bound)
#   BENCH_IDLE [10000]           idle test, after the rounds: ftpsgw holds this many
#                                logged-in TLS sessions for BENCH_IDLE_HOLD and reports
#                                its PSS per session; 0 skips the test
#   BENCH_IDLE_PEERS [120]       the same for pure-ftpd and vsftpd, with this many
#                                sessions (both fork a process per session; pure-ftpd
#                                is capped at PASV_N/2 clients)
#   BENCH_IDLE_SETTLE [35s]      wait before each server's memory is read without the
#                                sessions: ftpsgw returns the heap of its start (and of
#                                the rounds) to the system once quiet for 15 s
#   BENCH_IDLE_HOLD [40s]        the same after the logins, while the sessions are held
#   BENCH_SERVERS [ftpsgw ftpsgw-nosync pure-ftpd vsftpd bare-tls]
#   BENCH_OUT                    also keep the JSON result lines in this file
#   VSFTPD [/var/cache/ftpsgw/vsftpd/root/usr/sbin/vsftpd]  PURE_FTPD [/usr/sbin/pure-ftpd]
set -euo pipefail

SMOKE=0
for a in "$@"; do
	case "$a" in
	-smoke | --smoke) SMOKE=1 ;;
	-h | --help)
		awk 'NR > 1 && /^set -euo/ { exit } NR > 1' "$0"
		exit 0
		;;
	*)
		echo "compare.sh: unknown argument $a" >&2
		exit 2
		;;
	esac
done
[[ ${BENCH_SMOKE:-0} == 1 ]] && SMOKE=1

SIZE=${BENCH_SIZE:-1GiB}
MULTI_N=${BENCH_MULTI_N:-32}
MULTI_SIZE=${BENCH_MULTI_SIZE:-64MiB}
DUR=${BENCH_DURATION:-10s}
SESS_PAR=${BENCH_SESSIONS_PARALLEL:-16}
MANY=${BENCH_MANY_USERS:-10000}
SMALL_PAR=${BENCH_SMALL_PARALLEL:-4}
SMALL_SIZE=${BENCH_SMALL_SIZE:-4KiB}
ROUNDS=${BENCH_ROUNDS:-3}
TLS_MAX=${BENCH_TLS_MAX:-1.2}
SERVERS=${BENCH_SERVERS:-ftpsgw ftpsgw-nosync pure-ftpd vsftpd bare-tls}
IDLE=${BENCH_IDLE:-10000}
IDLE_PEERS=${BENCH_IDLE_PEERS:-120}
IDLE_HOLD=${BENCH_IDLE_HOLD:-40s}
IDLE_SETTLE=${BENCH_IDLE_SETTLE:-35s}
VERIFY=true
[[ ${BENCH_VERIFY:-1} == 0 ]] && VERIFY=false
if ((SMOKE)); then
	SIZE=${BENCH_SIZE:-4MiB} MULTI_N=${BENCH_MULTI_N:-4} MULTI_SIZE=${BENCH_MULTI_SIZE:-1MiB}
	DUR=${BENCH_DURATION:-1s} ROUNDS=${BENCH_ROUNDS:-1} SESS_PAR=${BENCH_SESSIONS_PARALLEL:-4}
	MANY=${BENCH_MANY_USERS:-16}
	IDLE=${BENCH_IDLE:-32} IDLE_PEERS=${BENCH_IDLE_PEERS:-8} IDLE_HOLD=${BENCH_IDLE_HOLD:-1s} IDLE_SETTLE=${BENCH_IDLE_SETTLE:-0s}
fi
VSFTPD=${VSFTPD:-/var/cache/ftpsgw/vsftpd/root/usr/sbin/vsftpd}
PURE_FTPD=${PURE_FTPD:-/usr/sbin/pure-ftpd}
PURE_PW=${PURE_PW:-/usr/bin/pure-pw}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

# Ports (this script's band is 20000-24999). Every FTP server gets a
# passive range of the same size, PASV_N ports.
PASV_N=256
GW_PORT=20021 GW_PASV=20100 GW_METRICS=20099
GWN_PORT=20521 GWN_PASV=20600 GWN_METRICS=20599
PURE_PORT=21021 PURE_PASV=21100
VS_PORT=22021 VS_PASV=22100
TLS_PORT=23021

BENCH_USER=ftpsbench # a Unix user (vsftpd, file owner) and the login name everywhere
PAM_SERVICE=ftpsbench-vsftpd
PASS="bench-$RANDOM$RANDOM"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
die() {
	echo "compare.sh: $*" >&2
	exit 1
}
[[ $(id -u) == 0 ]] || die "needs root (Unix user and PAM service for vsftpd)"
# The idle test's sessions each hold a socket and a directory in ftpsgw:
# raise the open-file limit as far as allowed, and fit the test under it.
ulimit -n "$(ulimit -Hn)" || die "cannot raise the open-file limit"
if ((IDLE * 2 + 200 > $(ulimit -n))); then
	echo "compare.sh: open-file limit $(ulimit -n): the idle test holds $(((IDLE = ($(ulimit -n) - 200) / 2))) sessions" >&2
fi
for t in openssl jq "$GO"; do command -v "$t" >/dev/null || die "missing $t"; done
want() { [[ " $SERVERS " == *" $1 "* ]]; }
want pure-ftpd && { [[ -x $PURE_FTPD && -x $PURE_PW ]] || die "no pure-ftpd at $PURE_FTPD (apt-get install pure-ftpd)"; }
want vsftpd && { [[ -x $VSFTPD ]] || die "no vsftpd at $VSFTPD (bash .ci/upstream-ftp.sh)"; }

T=$(mktemp -d /var/tmp/ftpsbench-compare.XXXXXX)
chmod 755 "$T"
declare -A PID=()
CREATED_USER=0
cleanup() {
	local rc=$?
	set +e
	for s in "${!PID[@]}"; do kill -TERM "${PID[$s]}" 2>/dev/null; done
	for s in "${!PID[@]}"; do wait "${PID[$s]}" 2>/dev/null; done
	if ((CREATED_USER)); then userdel "$BENCH_USER" 2>/dev/null; fi
	rm -f "/etc/pam.d/$PAM_SERVICE"
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

# ---- binaries, certificate, hash ----
log "building ftpsgw and ftpsbench into $T/bin"
(cd "$REPO" && "$GO" build -o "$T/bin/ftpsgw" ./cmd/ftpsgw &&
	"$GO" build -o "$T/bin/ftpsbench" ./cmd/ftpsbench &&
	"$GO" build -o "$T/bin/bcrypthash" ./cmd/ftpsbench/bcrypthash)
FB=$T/bin/ftpsbench

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
cat "$T/cert.pem" "$T/key.pem" >"$T/certkey.pem"
chmod 600 "$T/key.pem" "$T/certkey.pem"
HASH=$(echo "$PASS" | "$T/bin/bcrypthash" -cost 5)
[[ $HASH == '$2b$05$'* ]] || die "bad bcrypt hash $HASH"

if ! id "$BENCH_USER" >/dev/null 2>&1; then
	useradd -M -d "$T" -s /usr/sbin/nologin "$BENCH_USER"
	CREATED_USER=1
fi
usermod -p "$HASH" "$BENCH_USER"
UID_=$(id -u "$BENCH_USER") GID_=$(id -g "$BENCH_USER")
printf 'auth required pam_unix.so nodelay\naccount required pam_unix.so\nsession required pam_unix.so\n' \
	>"/etc/pam.d/$PAM_SERVICE"

wait_port() { # name port
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
		kill -0 "${PID[$1]}" 2>/dev/null || die "$1 exited; log: $(tail -5 "$T/$1.log" 2>/dev/null)"
		sleep 0.1
	done
	die "$1 does not listen on $2"
}

# ---- servers ----
# start_ftpsgw NAME PORT PASV METRICS DURABILITY
start_ftpsgw() {
	local name=$1 port=$2 pasv=$3 metrics=$4 durability=$5
	local dir=$T/$name
	mkdir -p "$dir/data"
	chown "$UID_:$GID_" "$dir/data"
	cat >"$dir/ftpsgw.hcl" <<EOF
server {
  listen              = ["127.0.0.1:$port"]
  max_sessions        = $((IDLE + 2000))
  max_sessions_per_ip = 512
  max_preauth_per_ip  = 512
  drain_timeout       = "2s"
}
tls {
  source    = "file"
  cert_file = "$T/cert.pem"
  key_file  = "$T/key.pem"
  # session_reuse: the default, "required"
}
passive {
  port_range     = "$pasv-$((pasv + PASV_N - 1))"
  public_address = "127.0.0.1"
  max_per_client = $PASV_N
}
metrics {
  listen = "127.0.0.1:$metrics"
}
log {
  level = "warn"
}
backend "local" "files" {
  root       = "$dir/data"
  durability = "$durability"
}
user "$BENCH_USER" {
  password_hash = "$HASH"
  backend       = "files"
  permissions   = ["*"]
}
EOF
	if [[ $name == ftpsgw ]]; then
		for ((i = 0; i < MANY; i++)); do
			printf 'user "%s%d" {\n  password_hash = "%s"\n  backend       = "files"\n  permissions   = ["*"]\n}\n' \
				"$BENCH_USER" "$i" "$HASH" >>"$dir/ftpsgw.hcl"
		done
	fi
	"$T/bin/ftpsgw" check-config -config "$dir/ftpsgw.hcl" >&2
	"$T/bin/ftpsgw" serve -config "$dir/ftpsgw.hcl" >"$T/$name.log" 2>&1 &
	PID[$name]=$!
	wait_port "$name" "$port"
}

start_pure() {
	mkdir -p "$T/pure/data"
	chown "$UID_:$GID_" "$T/pure/data"
	# pure-pw has no bcrypt option: write the puredb source line by hand
	# (its own default, argon2, costs seconds per login here). pure-ftpd
	# checks a $2b$ hash with crypt(3), i.e. libxcrypt.
	printf '%s:%s:%d:%d::%s/./%s\n' "$BENCH_USER" "$HASH" "$UID_" "$GID_" "$T/pure/data" "::::::::::::" >"$T/pure/passwd"
	for ((i = 0; i < MANY; i++)); do
		printf '%s%d:%s:%d:%d::%s/./%s\n' "$BENCH_USER" "$i" "$HASH" "$UID_" "$GID_" "$T/pure/data" "::::::::::::" >>"$T/pure/passwd"
	done
	"$PURE_PW" mkdb "$T/pure/users.pdb" -f "$T/pure/passwd" >&2
	# It caps clients at half the passive range: -c/-C PASV_N/2. Left to
	# itself it picks ChaCha20-Poly1305; -J makes it prefer AES-128-GCM,
	# which the Go servers and vsftpd negotiate with this client.
	# The table prints every server's data connection cipher suite.
	"$PURE_FTPD" -S "127.0.0.1,$PURE_PORT" -p "$PURE_PASV:$((PURE_PASV + PASV_N - 1))" -P 127.0.0.1 \
		--tls=3 -2 "$T/certkey.pem" -J "${PURE_CIPHERS:-ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL}" -l "puredb:$T/pure/users.pdb" -E -A -H \
		-c $((PASV_N / 2)) -C $((PASV_N / 2)) >"$T/pure-ftpd.log" 2>&1 &
	PID[pure-ftpd]=$!
	wait_port pure-ftpd "$PURE_PORT"
}

start_vsftpd() {
	mkdir -p "$T/vs/data" "$T/vs/empty"
	chown "$UID_:$GID_" "$T/vs/data"
	cat >"$T/vs/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$VS_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
local_root=$T/vs/data
secure_chroot_dir=$T/vs/empty
pam_service_name=$PAM_SERVICE
userlist_enable=NO
isolate=NO
isolate_network=NO
seccomp_sandbox=NO
pasv_enable=YES
pasv_min_port=$VS_PASV
pasv_max_port=$((VS_PASV + PASV_N - 1))
max_clients=0
max_per_ip=0
delay_failed_login=0
xferlog_enable=NO
vsftpd_log_file=$T/vsftpd.log
ssl_enable=YES
rsa_cert_file=$T/cert.pem
rsa_private_key_file=$T/key.pem
require_ssl_reuse=YES
force_local_logins_ssl=YES
force_local_data_ssl=YES
ssl_ciphers=HIGH
EOF
	"$VSFTPD" "$T/vs/vsftpd.conf" >"$T/vsftpd.out" 2>&1 &
	PID[vsftpd]=$!
	wait_port vsftpd "$VS_PORT"
}

start_tls() {
	"$FB" -mode tlsserve -addr "127.0.0.1:$TLS_PORT" -cert "$T/cert.pem" -key "$T/key.pem" \
		-tls-max "$TLS_MAX" >"$T/bare-tls.log" 2>&1 &
	PID[bare-tls]=$!
	wait_port bare-tls "$TLS_PORT"
}

declare -A ADDR=([ftpsgw]=127.0.0.1:$GW_PORT [ftpsgw-nosync]=127.0.0.1:$GWN_PORT [pure-ftpd]=127.0.0.1:$PURE_PORT
	[vsftpd]=127.0.0.1:$VS_PORT [bare-tls]=127.0.0.1:$TLS_PORT)
for s in $SERVERS; do
	case $s in
	ftpsgw) start_ftpsgw ftpsgw "$GW_PORT" "$GW_PASV" "$GW_METRICS" fsync ;;
	ftpsgw-nosync) start_ftpsgw ftpsgw-nosync "$GWN_PORT" "$GWN_PASV" "$GWN_METRICS" none ;;
	pure-ftpd) start_pure ;;
	vsftpd) start_vsftpd ;;
	bare-tls) start_tls ;;
	*) die "unknown server $s" ;;
	esac
	log "started $s (pid ${PID[$s]}) on ${ADDR[$s]}"
done

# ---- runs ----
RES=$T/results.jsonl
: >"$RES"
export FTPSBENCH_PASS=$PASS

# bench server test round args...: one ftpsbench run, its JSON line appended to RES.
bench() {
	local server=$1 test=$2 round=$3
	shift 3
	local out rc=0
	sync # no run pays for the writeback of the uploads before it
	out=$("$FB" -addr "${ADDR[$server]}" -user "$BENCH_USER" -ca "$T/cert.pem" -servername localhost \
		-tls-max "$TLS_MAX" -verify="$VERIFY" -pid "${PID[$server]}" -json -label "$server/$test/$round" "$@" 2>>"$T/ftpsbench.err") || rc=$?
	if [[ $out != "{"* ]]; then
		out=$(jq -cn --arg l "$server/$test/$round" --arg e "ftpsbench exited $rc without a result" \
			'{mode:"none",addr:"",tls_max:"",parallel:0,label:$l,errors:1,error_sample:[$e]}')
	fi
	echo "$out" >>"$RES"
	log "$server/$test/$round: $(jq -c 'del(.addr,.tls_max,.label)' <<<"$out")"
}

ORDER=($SERVERS)
for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r/$ROUNDS: ${ORDER[*]}"
	for s in "${ORDER[@]}"; do
		if [[ $s == bare-tls ]]; then
			bench "$s" "1x$SIZE" "$r" -mode tls -size "$SIZE"
		else
			bench "$s" "1x$SIZE" "$r" -mode throughput -size "$SIZE" -require-resume
		fi
	done
	for s in "${ORDER[@]}"; do
		[[ $s == bare-tls ]] && continue
		bench "$s" "sessions-x$SESS_PAR" "$r" -mode sessions -pwd -parallel "$SESS_PAR" -duration "$DUR"
	done
	for s in "${ORDER[@]}"; do
		[[ $s == ftpsgw || $s == pure-ftpd ]] && ((MANY > 1)) || continue
		bench "$s" "sessions-${MANY}users-x$SESS_PAR" "$r" -mode sessions -pwd -parallel "$SESS_PAR" -duration "$DUR" -users "$MANY"
	done
	# The small files are kept (removed with $T at the end): on ext4
	# without a journal (this kind of machine) the inode allocator skips
	# every inode freed in the last 60 s (360 s while its table block is
	# dirty), so creating files right after another server deleted
	# thousands cost up to 10 times the CPU, and a server's figure
	# depended on who ran before it.
	# bare-tls: the same workers, each file a new connection resuming the
	# worker's TLS session and nothing else, the per-file floor on Go's TLS.
	for s in "${ORDER[@]}"; do
		if [[ $s == bare-tls ]]; then
			bench "$s" "small-$SMALL_SIZE-x$SMALL_PAR" "$r" -mode tlssmall -size "$SMALL_SIZE" -parallel "$SMALL_PAR" \
				-duration "$DUR" -require-resume
		else
			bench "$s" "small-$SMALL_SIZE-x$SMALL_PAR" "$r" -mode smallfiles -size "$SMALL_SIZE" -parallel "$SMALL_PAR" \
				-duration "$DUR" -require-resume -keep
		fi
	done
	for s in "${ORDER[@]}"; do
		if [[ $s == bare-tls ]]; then
			bench "$s" "${MULTI_N}x$MULTI_SIZE" "$r" -mode tls -size "$MULTI_SIZE" -parallel "$MULTI_N"
		else
			bench "$s" "${MULTI_N}x$MULTI_SIZE" "$r" -mode throughput -size "$MULTI_SIZE" -parallel "$MULTI_N" -require-resume
		fi
	done
	ORDER=("${ORDER[@]:1}" "${ORDER[0]}") # alternate: the next round starts with the next server
done

if ((IDLE > 0)); then
	for s in $SERVERS; do
		n=$IDLE_PEERS
		case $s in
		bare-tls | ftpsgw-nosync) continue ;;
		ftpsgw) n=$IDLE ;;
		esac
		bench "$s" idle 1 -mode idle -count "$n" -settle "$IDLE_SETTLE" -duration "$IDLE_HOLD"
	done
fi

[[ -n ${BENCH_OUT:-} ]] && cp "$RES" "$BENCH_OUT"
echo
echo "ftpsgw vs pure-ftpd vs vsftpd vs bare Go TLS on $(hostname), $(nproc) cores, $(date -u +%FT%TZ)"
echo "TLS max $TLS_MAX, RSA-2048, bcrypt cost 5 everywhere; client: ftpsbench on the same cores (sha256 check of downloads: $VERIFY)."
echo "Sizes: single stream $SIZE, $MULTI_N x $MULTI_SIZE, small files $SMALL_SIZE x $SMALL_PAR sessions, $SESS_PAR login workers, $DUR per rate test."
echo "MB = 10^6 bytes. cpu/op: the server's CPU (user+sys, with its child processes) per operation."
echo "A '!' marks a run with errors. The machine is shared: compare medians, not single rounds."
rc=0
"$FB" -mode table -in "$RES" -base ftpsgw || rc=$?
if [[ -s $T/ftpsbench.err ]]; then
	echo
	echo "ftpsbench stderr:"
	sort "$T/ftpsbench.err" | uniq -c | head -20
fi
exit "$rc"
