#pragma once

/* A bounded byte queue between one producer thread (a streamed answer: SSE events, a long
 * download) and the HTTP server sending it. The writer blocks while too much is queued; the
 * reader never blocks: with nothing queued it asks to be woken (http.c suspends the connection
 * and resumes it from the wake callback). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct api_stream;

/* wake(cls) is called, without the lock held, when data arrives or the writer finishes after the
 * reader armed it (api_stream_arm()); it may be NULL (tests poll). */
struct api_stream *api_stream_new(size_t max_queued, void (*wake)(void *cls), void *wake_cls);
/* Queues n bytes, blocking while the queue is full. Returns 0, or -EPIPE once the reader has
 * gone (the client disconnected). */
int api_stream_write(struct api_stream *s, const void *buf, size_t n);
/* The same with printf formatting (one SSE event at a time, say). */
int api_stream_printf(struct api_stream *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Whether the reader has gone: a producer waiting on something else polls this. */
bool api_stream_gone(struct api_stream *s);
/* The writer is done: the reader gets end of stream once the queue is empty. */
void api_stream_finish(struct api_stream *s);

enum api_stream_read_result {
        API_STREAM_DATA,  /* *ret_n bytes copied */
        API_STREAM_EMPTY, /* nothing now: arm, then wait for wake */
        API_STREAM_END,   /* finished and drained */
};
/* Takes up to max queued bytes. */
enum api_stream_read_result api_stream_read(struct api_stream *s, char *buf, size_t max,
                                            size_t *ret_n);
/* After an empty read: asks for one wake. Returns false when there is something to read already
 * (no wake will come: read again now), true when wake will be called. */
bool api_stream_arm(struct api_stream *s);
/* The reader is gone: pending and later writes fail with -EPIPE. */
void api_stream_abandon(struct api_stream *s);
/* Drops one reference: the stream is freed once both the reader and the writer let go
 * (api_stream_new() returns it with two). */
void api_stream_unref(struct api_stream *s);
