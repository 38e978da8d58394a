#pragma once

enum aio_log_level { AIO_LOG_ERROR, AIO_LOG_WARN, AIO_LOG_INFO, AIO_LOG_DEBUG, _AIO_LOG_MAX };

/* The one mutable global the style allows. */
extern enum aio_log_level aio_log_level;

void aio_log_set_program(const char *name);
void aio_log(enum aio_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) aio_log(AIO_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  aio_log(AIO_LOG_WARN, __VA_ARGS__)
#define log_info(...)  aio_log(AIO_LOG_INFO, __VA_ARGS__)
#define log_debug(...) aio_log(AIO_LOG_DEBUG, __VA_ARGS__)
