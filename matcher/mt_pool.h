/* mt_pool.h - a pool of idle proxies: a binary min-heap keyed on the reported client count,
 * reproducing Go container/heap order exactly (spec §4.2). Records embed an mt_pool_node_t and
 * keep their heap index, so removal is O(log n). Owned by the matcher loop; not thread-safe. */
#ifndef MT_POOL_H
#define MT_POOL_H

#include <stddef.h>
#include <stdint.h>

/** Index of a node that is in no pool. */
#define MT_POOL_NONE SIZE_MAX

/** The part of a proxy record the pool uses; the record embeds it and sets `owner`. */
typedef struct {
    int64_t key;  /* reported clients; mt_pool_push clamps negatives to 0 */
    size_t index; /* position in the heap, MT_POOL_NONE when not pooled */
    void *owner;  /* borrowed: the record embedding this node */
} mt_pool_node_t;

typedef struct mt_pool mt_pool_t;

/** Create an empty pool. Never NULL (OOM aborts). */
mt_pool_t *mt_pool_new(void);
/** Destroy the pool (not the nodes, which the caller owns) and set *pool_p to NULL. */
void mt_pool_destroy(mt_pool_t **pool_p);
/** Push `node` (borrowed until popped or removed). A negative key is clamped to 0 first:
 *  upstream let negative counts jump the queue. O(log n). */
void mt_pool_push(mt_pool_t *pool, mt_pool_node_t *node);
/** Pop the node with the smallest key (Go heap.Pop order), or NULL if empty. O(log n). */
mt_pool_node_t *mt_pool_pop(mt_pool_t *pool);
/** Remove `node` from the pool (Go heap.Remove). Return 0, or -1 if it is not in this pool. */
int mt_pool_remove(mt_pool_t *pool, mt_pool_node_t *node);
/** Return the number of pooled nodes. */
size_t mt_pool_size(const mt_pool_t *pool);

#endif
