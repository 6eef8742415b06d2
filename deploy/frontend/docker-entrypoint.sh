#!/bin/sh
# Writes the demo page's runtime config (config.js) from the environment.
#
# The page loads `<script src="/config.js">`, so configuration is a separate
# file, not text spliced into index.html: the file is rewritten whole at every
# start (idempotent across restarts) and the static site stays read-only.
#
#   API_URL (or JOBGATE_API_URL)  -> window.__API_URL__ (empty: same origin)
#   JOB_POLL_INTERVAL_MS          -> window.__JOB_POLL_INTERVAL_MS__  (5000)
#   JOB_MAX_POLL_ATTEMPTS         -> window.__JOB_MAX_POLL_ATTEMPTS__ (120)
#   JOB_TIMEOUT_MS                -> window.__JOB_TIMEOUT_MS__        (600000)
#   JOBGATE_CONFIG_JS             -> where to write (default next to index.html)
#   JOBGATE_INDEX_HTML            -> also put the same values into this page (unset: no)
#   JOBGATE_INDEX_HTML_OUT        -> where that page goes (default: JOBGATE_INDEX_HTML)
#
# A page that never loads /config.js (the app this replaces writes its values
# into its own index.html) gets them from JOBGATE_INDEX_HTML: the same lines
# as config.js, in a <script data-jobgate-config> element just before
# </head>. A restart replaces that element, never adds a second one, so the
# page can be rewritten in place; or keep the image's page read-only and
# write the result elsewhere with JOBGATE_INDEX_HTML_OUT. A page without
# </head> stops the start with an error rather than run unconfigured.
#
# Strings are JSON-encoded with `<`, `>`, `&`, quotes and U+2028/U+2029
# escaped, so no value can end the <script> or break the literal. Numbers must
# be whole numbers >= 1 (at most 9 digits); anything else falls back to the
# default with a warning on stderr.
#
# Runs as a hook in the nginx image's /docker-entrypoint.d/ (no arguments) or
# as a wrapper entrypoint: with arguments it execs them after writing.
# POSIX sh and awk only: the nginx images have neither python3 nor jq.
set -eu

warn() {
    printf '%s\n' "jobgate-config: warning: $*" >&2
}

# positive_int NAME DEFAULT -> prints the validated value of $NAME
positive_int() {
    eval "_raw=\${$1-}"
    _val=$_raw
    case $_val in
        '') printf '%s\n' "$2"; return 0 ;;
        *[!0-9]*)
            warn "$1 is not a whole number; using the default $2"
            printf '%s\n' "$2"; return 0 ;;
    esac
    # Leading zeros would make a legacy octal literal in JavaScript.
    while :; do
        case $_val in
            0?*) _val=${_val#0} ;;
            *) break ;;
        esac
    done
    if [ "$_val" = 0 ] || [ "${#_val}" -gt 9 ]; then
        warn "$1 must be between 1 and 999999999; using the default $2"
        printf '%s\n' "$2"; return 0
    fi
    printf '%s\n' "$_val"
}

# inject_into_page CONFIG_JS PAGE OUT: PAGE with CONFIG_JS's lines in a marked
# <script> before </head>, any marked element of an earlier run taken out first.
# The config lines cannot contain "<", so they cannot end the element early.
inject_into_page() {
    if [ ! -f "$2" ]; then
        printf '%s\n' "jobgate-config: error: JOBGATE_INDEX_HTML=$2 is not a file" >&2
        exit 1
    fi
    if grep -qi 'content-security-policy' "$2"; then
        warn "$2 declares a Content-Security-Policy; it must allow this inline" \
            "script, or the page should load /config.js instead"
    fi
    _out_dir=$(dirname -- "$3")
    mkdir -p -- "$_out_dir"
    _page_tmp="$_out_dir/.index.html.$$"
    trap 'rm -f -- "$_page_tmp"' EXIT
    _status=0
    LC_ALL=C awk -v config="$1" '
BEGIN {
    open_tag = "<script data-jobgate-config>"; close_tag = "</script>"
    while ((getline line < config) > 0) body = body line "\n"
    close(config)
}
{ doc = doc (NR > 1 ? "\n" : "") $0 }
END {
    kept = ""
    while ((i = index(doc, open_tag)) > 0) {
        rest = substr(doc, i)
        j = index(rest, close_tag)
        if (j == 0) exit 4
        cut = j + length(close_tag)
        if (substr(rest, cut, 1) == "\n") cut++
        kept = kept substr(doc, 1, i - 1)
        doc = substr(rest, cut)
    }
    doc = kept doc
    h = index(tolower(doc), "</head>")
    if (h == 0) exit 3
    # When </head> starts its line, the element goes before its indentation.
    at = h
    while (at > 1 && (substr(doc, at - 1, 1) == " " || substr(doc, at - 1, 1) == "\t")) at--
    if (at > 1 && substr(doc, at - 1, 1) != "\n") at = h
    printf "%s%s\n%s%s\n%s\n", substr(doc, 1, at - 1), open_tag, body, close_tag, substr(doc, at)
}' "$2" >"$_page_tmp" || _status=$?
    case $_status in
        0) ;;
        3) printf '%s\n' "jobgate-config: error: no </head> in $2; nothing injected" >&2
           exit 1 ;;
        4) printf '%s\n' "jobgate-config: error: $2 has an unclosed <script data-jobgate-config>" >&2
           exit 1 ;;
        *) exit "$_status" ;;
    esac
    chmod 0644 "$_page_tmp"
    mv -f -- "$_page_tmp" "$3"
    trap - EXIT
}

poll_interval_ms=$(positive_int JOB_POLL_INTERVAL_MS 5000)
max_poll_attempts=$(positive_int JOB_MAX_POLL_ATTEMPTS 120)
timeout_ms=$(positive_int JOB_TIMEOUT_MS 600000)

if [ "$timeout_ms" -lt $((max_poll_attempts * poll_interval_ms)) ]; then
    warn "JOB_TIMEOUT_MS ($timeout_ms) is below JOB_MAX_POLL_ATTEMPTS x" \
        "JOB_POLL_INTERVAL_MS ($max_poll_attempts x $poll_interval_ms);" \
        "the browser gives up before it has polled that often"
fi

# API_URL wins over JOBGATE_API_URL when both are set, as in jobgate.settings.
if [ "${API_URL+set}" = set ]; then
    api_url_var=API_URL
else
    api_url_var=JOBGATE_API_URL
fi

target=${JOBGATE_CONFIG_JS:-/usr/share/nginx/html/config.js}
target_dir=$(dirname -- "$target")
mkdir -p -- "$target_dir"
tmp="$target_dir/.config.js.$$"
trap 'rm -f -- "$tmp"' EXIT

# Bytes, not characters: in the C locale every awk treats the value as bytes,
# so UTF-8 passes through unchanged and the U+2028/U+2029 byte sequences can be
# matched and escaped.
LC_ALL=C awk \
    -v api_url_var="$api_url_var" \
    -v poll="$poll_interval_ms" \
    -v attempts="$max_poll_attempts" \
    -v timeout="$timeout_ms" '
function json_string(s,    out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        out = out ((c in esc) ? esc[c] : c)
    }
    gsub(/\342\200\250/, "\\u2028", out)
    gsub(/\342\200\251/, "\\u2029", out)
    return "\"" out "\""
}
BEGIN {
    for (n = 1; n < 32; n++) esc[sprintf("%c", n)] = sprintf("\\u%04x", n)
    esc["\b"] = "\\b"; esc["\t"] = "\\t"; esc["\n"] = "\\n"
    esc["\f"] = "\\f"; esc["\r"] = "\\r"
    esc["\\"] = "\\\\"; esc["\""] = "\\\""
    esc["\047"] = "\\u0027"; esc["<"] = "\\u003c"; esc[">"] = "\\u003e"
    esc["&"] = "\\u0026"; esc[sprintf("%c", 127)] = "\\u007f"

    api_url = (api_url_var in ENVIRON) ? ENVIRON[api_url_var] : ""
    print "// Written by the jobgate frontend entrypoint at container start. Do not edit."
    print "window.__API_URL__ = " json_string(api_url) ";"
    print "window.__JOB_POLL_INTERVAL_MS__ = " poll ";"
    print "window.__JOB_MAX_POLL_ATTEMPTS__ = " attempts ";"
    print "window.__JOB_TIMEOUT_MS__ = " timeout ";"
}' >"$tmp"
chmod 0644 "$tmp"
mv -f -- "$tmp" "$target"
trap - EXIT

if [ -n "${JOBGATE_INDEX_HTML-}" ]; then
    inject_into_page "$target" "$JOBGATE_INDEX_HTML" "${JOBGATE_INDEX_HTML_OUT:-$JOBGATE_INDEX_HTML}"
fi

if [ "$#" -gt 0 ]; then
    exec "$@"
fi
