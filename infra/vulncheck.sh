#!/usr/bin/env bash
# vulncheck.sh DB MODULE...: govulncheck on every module, against the
# database at DB (a directory, see vulndb.sh; "" for vuln.go.dev). It fails
# on any vulnerability the code reaches that has a fix (upgrade it), and
# lists, without failing, those that have none yet, which the README's
# Security section assesses one by one.
set -uo pipefail
db=$1
shift
flags=()
if [ -n "$db" ]; then flags+=(-db "file://$(cd "$db" && pwd)"); fi
status=0
for m in "$@"; do
	out=$(cd "$m" && govulncheck "${flags[@]}" ./... 2>&1)
	code=$?
	fixable=$(printf '%s\n' "$out" | grep -E '^ +Fixed in: ' | grep -vc 'Fixed in: N/A')
	unfixed=$(printf '%s\n' "$out" | grep -B4 -E '^ +Fixed in: N/A' | grep -oE 'GO-[0-9]+-[0-9]+' | sort -u | tr '\n' ' ')
	if [ "$fixable" -gt 0 ] || { [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; }; then
		echo "govulncheck $m: FAIL"
		printf '%s\n' "$out"
		status=1
	elif [ -n "$unfixed" ]; then
		echo "govulncheck $m: ok; reached, without a fix yet: $unfixed"
	else
		echo "govulncheck $m: ok"
	fi
done
exit $status
