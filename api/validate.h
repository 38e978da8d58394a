#pragma once

/* Request body validation from a field table (systemd's sd_json_dispatch_field idea), with
 * pydantic's error items so a 422 names the field the way upstream's does. Unknown keys are
 * errors (STYLE.md); null is accepted only where a field says so. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum api_ftype {
        API_T_STRING, /* const char * (borrowed from the body) */
        API_T_INT,    /* long long; 5.0 is accepted as 5, as pydantic does */
        API_T_NUMBER, /* double; integers accepted */
        API_T_BOOL,   /* bool */
        _API_T_MAX,
};

struct api_field {
        const char *name;
        enum api_ftype type;
        bool required;
        bool nullable;  /* null leaves the default in place */
        size_t offset;  /* of the destination in the caller's struct */
        size_t max_len; /* strings, in characters; 0: unbounded */
        bool (*match)(const char *s);
        const char *pattern; /* what match checks, for the message */
};

/* Checks body (NULL: the request had none) against fields and, when all is well, stores what it
 * found into dst (dst_size bytes; fields absent from the body keep the caller's defaults).
 * Returns 0, or -EINVAL with the FastAPI detail items appended to detail (for api_reply_422). */
int api_fields_unpack(const json_t *body, const struct api_field *fields, size_t n_fields,
                      void *dst, size_t dst_size, json_t *detail);
