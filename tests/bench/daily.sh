#!/usr/bin/env bash
# The playbook's daily check as its operators run it today (PLAYBOOK.md):
# curl the API and the site, time the API, grep the log, find the backup,
# df the disk, bc for the comparison.  usage: daily.sh BASE_URL LOG BACKUPS
API="$1/health"; SITE="$1/"; LOG=$2; BACKUPS=$3
api=$(curl -s -o /dev/null -w "%{http_code}" "$API")
site=$(curl -s -o /dev/null -w "%{http_code}" "$SITE")
rt=$(curl -s -o /dev/null -w "%{time_total}" "$API")
errors=$(tail -100 "$LOG" | grep -c "ERROR\|FATAL")
backup=$(find "$BACKUPS" -name "*.sql.gz" -mtime -1 | wc -l)
disk=$(df / | awk 'NR==2 {print $5}' | sed 's/%//')
slow=$(echo "$rt > 2.0" | bc)
if [ "$api" = 200 ] && [ "$site" = 200 ] && [ "$slow" = 0 ] && [ "$errors" -lt 5 ] &&
   [ "$backup" -gt 0 ] && [ "$disk" -lt 80 ]; then
	echo "All systems operational"
else
	echo "Some issues detected"
fi
