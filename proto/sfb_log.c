/* sfb_log.c - see sfb_log.h. The scrubber finds maximal runs of address characters and tests
 * them with inet_pton, so times like 20:15:03 survive while ::1 and 1.2.3.4:80 do not. */
#include "sfb_log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048
#define SCRUBBED "[scrubbed]"

static const char *s_process = "sfb";
static atomic_int s_level = SFB_NOTICE;
static atomic_bool s_unsafe = false;

static const char *const s_level_names[] = {"error", "warn", "notice", "info", "debug"};

void
sfb_log_set_process(const char *name)
{
    s_process = name;
}

void
sfb_log_set_level(sfb_level_t level)
{
    atomic_store(&s_level, (int)level);
}

bool
sfb_log_level_parse(const char *s, sfb_level_t *out)
{
    for (int i = SFB_ERROR; i <= SFB_DEBUG; i++) {
        if (strcmp(s, s_level_names[i]) == 0) {
            *out = (sfb_level_t)i;
            return true;
        }
    }
    return false;
}

void
sfb_log_set_unsafe(bool unsafe)
{
    atomic_store(&s_unsafe, unsafe);
    if (unsafe)
        sfb_log(SFB_WARN, "log",
                "unsafe logging is on: client and proxy addresses will appear in the log");
}

bool
sfb_log_enabled(sfb_level_t level)
{
    return (int)level <= atomic_load(&s_level);
}

const char *
sfb_safe_addr(const char *addr)
{
    return atomic_load(&s_unsafe) ? addr : SCRUBBED;
}

uint64_t
sfb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
sfb_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool
s_is_addr_char(char c)
{
    return isxdigit((unsigned char)c) || c == ':' || c == '.';
}

/* Length of a dotted quad of 1-3 digit groups at `s`, plus a following ":port", or 0. */
static size_t
s_ipv4_len(const char *s, size_t n)
{
    size_t i = 0;
    for (int group = 0; group < 4; group++) {
        size_t digits = 0;
        while (i < n && digits < 4 && isdigit((unsigned char)s[i])) {
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3)
            return 0;
        if (group < 3) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
    }
    if (i < n && isdigit((unsigned char)s[i]))
        return 0;
    if (i + 1 < n && s[i] == ':' && isdigit((unsigned char)s[i + 1])) {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    return i;
}

static bool
s_is_ipv6(const char *s, size_t n)
{
    char buf[INET6_ADDRSTRLEN + 8];
    unsigned char addr[16];
    if (n == 0 || n >= sizeof buf || memchr(s, ':', n) == NULL)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

/* Replace text[at, at+len) by SCRUBBED within a buffer of `size`; return the new length. */
static size_t
s_splice(char *text, size_t textlen, size_t size, size_t at, size_t len)
{
    size_t rep = sizeof SCRUBBED - 1;
    size_t tail = textlen - at - len;
    if (at + rep + tail >= size)
        tail = at + rep >= size ? 0 : size - 1 - at - rep;
    if (at + rep >= size)
        rep = size - 1 - at;
    memmove(text + at + rep, text + at + len, tail);
    memcpy(text + at, SCRUBBED, rep);
    text[at + rep + tail] = '\0';
    return at + rep + tail;
}

/* Scrub the run text[start, start+n): the whole run if it is IPv6 (trailing '.' or ':'
 * tolerated), else every dotted quad in it. Return the new total length; *next gets the index
 * just past the processed run. */
static size_t
s_scrub_run(char *text, size_t len, size_t size, size_t start, size_t n, size_t *next)
{
    size_t trimmed = n;
    while (trimmed > 0 && (text[start + trimmed - 1] == '.' || text[start + trimmed - 1] == ':'))
        trimmed--;
    if (s_is_ipv6(text + start, n) || s_is_ipv6(text + start, trimmed)) {
        size_t cut = s_is_ipv6(text + start, n) ? n : trimmed;
        len = s_splice(text, len, size, start, cut);
        *next = start + sizeof SCRUBBED - 1;
        return len;
    }
    size_t i = start, end = start + n;
    while (i < end && i < len) {
        bool boundary = i == start || !isdigit((unsigned char)text[i - 1]);
        size_t v4 = boundary ? s_ipv4_len(text + i, end - i) : 0;
        if (v4 > 0) {
            len = s_splice(text, len, size, i, v4);
            end = end - v4 + (sizeof SCRUBBED - 1);
            i += sizeof SCRUBBED - 1;
        } else {
            i++;
        }
    }
    *next = i;
    return len;
}

size_t
sfb_log_scrub(char *text, size_t size)
{
    size_t len = strnlen(text, size);
    size_t i = 0;
    while (i < len) {
        if (!s_is_addr_char(text[i]) || (i > 0 && isalnum((unsigned char)text[i - 1]))) {
            i++;
            continue;
        }
        size_t n = 0;
        while (i + n < len && s_is_addr_char(text[i + n]))
            n++;
        if (i + n < len && isalnum((unsigned char)text[i + n])) {
            i += n; /* part of a longer word such as a hex id followed by letters */
            continue;
        }
        len = s_scrub_run(text, len, size, i, n, &i);
    }
    return len;
}

char *
sfb_log_escape(const char *in, size_t max_in, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < max_in && in[i] != '\0' && o + 5 < out_size; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
        }
    }
    if (out_size > 0)
        out[o < out_size ? o : out_size - 1] = '\0';
    return out;
}

/* The format attribute lets clang's -Wformat-nonliteral (from -Wformat=2) accept the
 * vsnprintf below: callers' formats are checked at their own call sites. */
__attribute__((format(printf, 3, 0))) static void
s_vlog(sfb_level_t level, const char *module, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    char msg[LINE_MAX_BYTES];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (!atomic_load(&s_unsafe))
        sfb_log_scrub(msg, sizeof msg);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02dZ %s %s %s: %s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, s_level_names[level], s_process, module, msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void
sfb_log(sfb_level_t level, const char *module, const char *fmt, ...)
{
    if (!sfb_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, module, fmt, ap);
    va_end(ap);
}

void
sfb_log_ratelim(sfb_ratelim_t *rl, sfb_level_t level, const char *module, const char *fmt, ...)
{
    if (!sfb_log_enabled(level))
        return;
    uint64_t now = sfb_now_ms();
    if (rl->last_ms != 0 && now - rl->last_ms < rl->interval_ms) {
        rl->suppressed++;
        return;
    }
    if (rl->suppressed > 0)
        sfb_log(level, module, "(%llu similar lines suppressed)",
                (unsigned long long)rl->suppressed);
    rl->last_ms = now;
    rl->suppressed = 0;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, module, fmt, ap);
    va_end(ap);
}
