/* md_set.c - see md_set.h. Slot value 0 means empty, so key 0 is kept in a flag. */
#include "md_set.h"

#include "sfb_alloc.h"

#include <stdlib.h>
#include <string.h>

#define S_MIN_CAP 1024

struct md_set {
    uint64_t *slots; /* cap entries, 0 = empty */
    size_t cap;      /* power of two */
    int shift;       /* 64 - log2(cap), for Fibonacci hashing */
    size_t used;     /* non-zero keys stored */
    bool has_zero;   /* key 0 is in the set */
    size_t peak;     /* largest size since the last clear */
};

/* Fibonacci hashing: even keys that differ only in their high bits spread out. */
static size_t
s_home(uint64_t key, int shift)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> shift);
}

static int
s_shift(size_t cap)
{
    int bits = 0;
    while (((size_t)1 << bits) < cap)
        bits++;
    return 64 - bits;
}

md_set_t *
md_set_new(void)
{
    md_set_t *set = sfb_xcalloc(1, sizeof *set);
    set->cap = S_MIN_CAP;
    set->shift = s_shift(set->cap);
    set->slots = sfb_xcalloc(set->cap, sizeof *set->slots);
    return set;
}

void
md_set_destroy(md_set_t **set_p)
{
    if (set_p == NULL || *set_p == NULL)
        return;
    free((*set_p)->slots);
    free(*set_p);
    *set_p = NULL;
}

static bool
s_insert(uint64_t *slots, size_t cap, int shift, uint64_t key)
{
    size_t mask = cap - 1;
    for (size_t i = s_home(key, shift);; i = (i + 1) & mask) {
        if (slots[i] == key)
            return false;
        if (slots[i] == 0) {
            slots[i] = key;
            return true;
        }
    }
}

static void
s_resize(md_set_t *set, size_t cap)
{
    uint64_t *slots = sfb_xcalloc(cap, sizeof *slots);
    int shift = s_shift(cap);
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
            s_insert(slots, cap, shift, set->slots[i]);
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    set->shift = shift;
}

void
md_set_reserve(md_set_t *set, size_t n)
{
    size_t cap = set->cap;
    while (n * 4 > cap * 3)
        cap *= 2;
    if (cap != set->cap)
        s_resize(set, cap);
}

bool
md_set_add(md_set_t *set, uint64_t key)
{
    if (key == 0) {
        bool added = !set->has_zero;
        set->has_zero = true;
        return added;
    }
    if ((set->used + 1) * 4 > set->cap * 3)
        s_resize(set, set->cap * 2);
    bool added = s_insert(set->slots, set->cap, set->shift, key);
    set->used += added;
    if (set->used > set->peak)
        set->peak = set->used;
    return added;
}

bool
md_set_has(const md_set_t *set, uint64_t key)
{
    if (key == 0)
        return set->has_zero;
    size_t mask = set->cap - 1;
    for (size_t i = s_home(key, set->shift);; i = (i + 1) & mask) {
        if (set->slots[i] == key)
            return true;
        if (set->slots[i] == 0)
            return false;
    }
}

size_t
md_set_size(const md_set_t *set)
{
    return set->used + (set->has_zero ? 1 : 0);
}

size_t
md_set_bytes(const md_set_t *set)
{
    return sizeof *set + set->cap * sizeof *set->slots;
}

void
md_set_clear(md_set_t *set)
{
    /* Shrink after a peak, so one busy interval does not pin memory for ever. */
    size_t want = S_MIN_CAP;
    while (want * 3 < set->peak * 4)
        want *= 2;
    if (set->cap > want * 4) {
        free(set->slots);
        set->cap = want;
        set->shift = s_shift(want);
        set->slots = sfb_xcalloc(set->cap, sizeof *set->slots);
    } else {
        memset(set->slots, 0, set->cap * sizeof *set->slots);
    }
    set->used = 0;
    set->peak = 0;
    set->has_zero = false;
}

void
md_set_foreach(const md_set_t *set, void (*fn)(uint64_t key, void *arg), void *arg)
{
    if (set->has_zero)
        fn(0, arg);
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
            fn(set->slots[i], arg);
}
