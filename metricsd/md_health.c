/* md_health.c - see md_health.h. */
#include "md_health.h"

#include "md_prom.h"
#include "sfb_alloc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct md_health {
    _Atomic uint64_t v[MD_HEALTH_COUNT]; /* md_health_item_t */
};

typedef struct {
    const char *name; /* after "snowflake_metricsd_" */
    bool gauge;       /* else counter */
    const char *help; /* one line */
} s_desc_t;

static const s_desc_t s_desc[MD_HEALTH_COUNT] = {
    {"events_total", false, "Events counted into a statistics interval"},
    {"decode_errors_total", false, "Event bodies that did not decode"},
    {"invalid_events_total", false, "Decoded events with an outcome impossible for their kind"},
    {"missed_events_total", false, "Events lost for good: sequence gaps no replay could fill"},
    {"publisher_restarts_total", false, "Times the matcher's epoch changed (matcher restarted)"},
    {"late_events_total", false, "Events for an interval that was already reported"},
    {"future_events_total", false, "Events time-stamped implausibly far in the future"},
    {"checkpoints_total", false, "Checkpoints of the partial interval written"},
    {"checkpoint_errors_total", false, "Checkpoints that could not be written"},
    {"reports_total", false, "Interval blocks appended to the stats log"},
    {"report_errors_total", false, "Interval blocks that could not be written"},
    {"requests_total", false, "REPORT_GET requests answered"},
    {"bad_requests_total", false, "Frames received on the listen socket that were refused"},
    {"reply_drops_total", false, "Replies that could not be sent"},
    {"truncated_replies_total", false, "Replies cut to fit the message size limit"},
    {"unique_set_entries", true, "Keys in the unique proxy set of the current interval"},
    {"unique_set_bytes", true, "Memory used by the unique proxy set"},
    {"interval_start_seconds", true, "Start of the current interval, seconds since the epoch"},
    {"last_sequence", true, "Last event sequence number seen"},
    {"duplicate_events_total", false, "Events received both live and replayed, counted once"},
    {"replay_requests_total", false, "REPLAY_GET requests sent to the matcher"},
    {"replayed_events_total", false, "Events recovered from the matcher's replay ring"},
    {"replay_timeouts_total", false, "REPLAY_GET requests not answered in time"},
    {"replay_give_ups_total", false, "Catch-ups abandoned after the last REPLAY_GET retry"},
    {"catchup_buffer_drops_total", false,
     "Live events not buffered during a catch-up (buffer full), fetched by replay instead"},
    {"catching_up", true, "1 while missed events are being fetched from the matcher"},
    {"catchup_buffered_events", true, "Live events held until the catch-up reaches them"},
    {"curve_refused_handshakes_total", false,
     "Handshakes refused on the report endpoint (CURVE: key not allowed, or no CURVE)"},
};

md_health_t *
md_health_new(void)
{
    md_health_t *h = sfb_xmalloc(sizeof *h);
    for (size_t i = 0; i < MD_HEALTH_COUNT; i++)
        atomic_init(&h->v[i], 0);
    return h;
}

void
md_health_destroy(md_health_t **health_p)
{
    if (health_p == NULL || *health_p == NULL)
        return;
    free(*health_p);
    *health_p = NULL;
}

void
md_health_add(md_health_t *health, md_health_item_t item, uint64_t n)
{
    if ((unsigned)item < MD_HEALTH_COUNT)
        atomic_fetch_add_explicit(&health->v[item], n, memory_order_relaxed);
}

void
md_health_set(md_health_t *health, md_health_item_t item, uint64_t v)
{
    if ((unsigned)item < MD_HEALTH_COUNT)
        atomic_store_explicit(&health->v[item], v, memory_order_release);
}

uint64_t
md_health_get(const md_health_t *health, md_health_item_t item)
{
    if ((unsigned)item >= MD_HEALTH_COUNT)
        return 0;
    return atomic_load_explicit(&health->v[item], memory_order_acquire);
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(s_desc[*(const int *)a].name, s_desc[*(const int *)b].name);
}

void
md_health_format(const md_health_t *health, sfb_buf_t *out)
{
    int order[MD_HEALTH_COUNT];
    for (int i = 0; i < MD_HEALTH_COUNT; i++)
        order[i] = i;
    qsort(order, MD_HEALTH_COUNT, sizeof order[0], s_cmp);
    char name[96];
    for (int i = 0; i < MD_HEALTH_COUNT; i++) {
        const s_desc_t *d = &s_desc[order[i]];
        snprintf(name, sizeof name, "snowflake_metricsd_%s", d->name);
        md_prom_format_simple(out, name, d->help, d->gauge ? "gauge" : "counter",
                              md_health_get(health, (md_health_item_t)order[i]));
    }
}
