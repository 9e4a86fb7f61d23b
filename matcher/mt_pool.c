/* mt_pool.c - see mt_pool.h. The sift functions mirror Go's container/heap up() and down()
 * line by line, because tie order is observable (equal keys pop A, D, C, B). */
#include "mt_pool.h"

#include "sfb_alloc.h"

#include <stdbool.h>
#include <stdlib.h>

struct mt_pool {
    mt_pool_node_t **items; /* heap array of borrowed nodes */
    size_t len;             /* nodes in use */
    size_t cap;             /* slots allocated */
};

mt_pool_t *
mt_pool_new(void)
{
    return sfb_xcalloc(1, sizeof(mt_pool_t));
}

void
mt_pool_destroy(mt_pool_t **pool_p)
{
    if (pool_p == NULL || *pool_p == NULL)
        return;
    mt_pool_t *pool = *pool_p;
    for (size_t i = 0; i < pool->len; i++)
        pool->items[i]->index = MT_POOL_NONE;
    free(pool->items);
    free(pool);
    *pool_p = NULL;
}

static bool
s_less(const mt_pool_t *pool, size_t i, size_t j)
{
    return pool->items[i]->key < pool->items[j]->key;
}

static void
s_swap(mt_pool_t *pool, size_t i, size_t j)
{
    mt_pool_node_t *t = pool->items[i];
    pool->items[i] = pool->items[j];
    pool->items[j] = t;
    pool->items[i]->index = i;
    pool->items[j]->index = j;
}

static void
s_up(mt_pool_t *pool, size_t j)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!s_less(pool, j, i))
            break;
        s_swap(pool, i, j);
        j = i;
    }
}

/* Sift down within the first n items; return true if the node moved. */
static bool
s_down(mt_pool_t *pool, size_t i0, size_t n)
{
    size_t i = i0;
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n)
            break;
        size_t j = j1;
        if (j1 + 1 < n && s_less(pool, j1 + 1, j1))
            j = j1 + 1;
        if (!s_less(pool, j, i))
            break;
        s_swap(pool, i, j);
        i = j;
    }
    return i > i0;
}

void
mt_pool_push(mt_pool_t *pool, mt_pool_node_t *node)
{
    if (pool->len == pool->cap) {
        pool->cap = pool->cap ? pool->cap * 2 : 64;
        pool->items = sfb_xrealloc(pool->items, pool->cap * sizeof *pool->items);
    }
    if (node->key < 0)
        node->key = 0;
    node->index = pool->len;
    pool->items[pool->len++] = node;
    s_up(pool, pool->len - 1);
}

static mt_pool_node_t *
s_take_last(mt_pool_t *pool)
{
    mt_pool_node_t *node = pool->items[--pool->len];
    node->index = MT_POOL_NONE;
    return node;
}

mt_pool_node_t *
mt_pool_pop(mt_pool_t *pool)
{
    if (pool->len == 0)
        return NULL;
    size_t n = pool->len - 1;
    s_swap(pool, 0, n);
    s_down(pool, 0, n);
    return s_take_last(pool);
}

int
mt_pool_remove(mt_pool_t *pool, mt_pool_node_t *node)
{
    size_t i = node->index;
    if (i >= pool->len || pool->items[i] != node)
        return -1;
    size_t n = pool->len - 1;
    if (i != n) {
        s_swap(pool, i, n);
        if (!s_down(pool, i, n))
            s_up(pool, i);
    }
    s_take_last(pool);
    return 0;
}

size_t
mt_pool_size(const mt_pool_t *pool)
{
    return pool->len;
}
