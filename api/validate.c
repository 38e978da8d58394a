#include "validate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

#include "api/reply.h"

static json_t *field_loc(const char *name)
{
        json_t *loc = json_pack("[s, s]", "body", name);

        if (!loc)
                abort();
        return loc;
}

static void add_error(json_t *detail, const char *name, const json_t *input, const char *msg,
                      const char *type)
{
        json_t *item;

        api_detail_add(detail, field_loc(name), msg, type);
        item = json_array_get(detail, json_array_size(detail) - 1);
        if (input)
                (void)json_object_set(item, "input", (json_t *)input);
}

static size_t utf8_chars(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char)*s & 0xC0) != 0x80;
        return n;
}

static int check_string(const struct api_field *f, const json_t *v, void *slot, json_t *detail)
{
        const char *s;
        char msg[128];

        if (!json_is_string(v)) {
                add_error(detail, f->name, v, "Input should be a valid string", "string_type");
                return -EINVAL;
        }
        s = json_string_value(v);
        if (f->max_len && utf8_chars(s) > f->max_len) {
                (void)snprintf(msg, sizeof(msg), "String should have at most %zu characters",
                               f->max_len);
                add_error(detail, f->name, v, msg, "string_too_long");
                return -EINVAL;
        }
        if (f->match && !f->match(s)) {
                (void)snprintf(msg, sizeof(msg), "String should match pattern '%s'",
                               f->pattern ? f->pattern : "?");
                add_error(detail, f->name, v, msg, "string_pattern_mismatch");
                return -EINVAL;
        }
        memcpy(slot, &s, sizeof(s));
        return 0;
}

static int check_int(const struct api_field *f, const json_t *v, void *slot, json_t *detail)
{
        long long i;
        double d;

        if (json_is_integer(v)) {
                i = json_integer_value(v);
        } else if (json_is_real(v)) {
                d = json_real_value(v);
                if (d != floor(d) || fabs(d) > 9007199254740992.0) {
                        add_error(detail, f->name, v,
                                  "Input should be a valid integer, got a number with a "
                                  "fractional part",
                                  "int_from_float");
                        return -EINVAL;
                }
                i = (long long)d;
        } else {
                add_error(detail, f->name, v, "Input should be a valid integer", "int_type");
                return -EINVAL;
        }
        memcpy(slot, &i, sizeof(i));
        return 0;
}

static int check_value(const struct api_field *f, const json_t *v, void *slot, json_t *detail)
{
        double d;
        bool b;

        switch (f->type) {
        case API_T_STRING:
                return check_string(f, v, slot, detail);
        case API_T_INT:
                return check_int(f, v, slot, detail);
        case API_T_NUMBER:
                if (!json_is_number(v)) {
                        add_error(detail, f->name, v, "Input should be a valid number",
                                  "float_type");
                        return -EINVAL;
                }
                d = json_number_value(v);
                memcpy(slot, &d, sizeof(d));
                return 0;
        case API_T_BOOL:
                if (!json_is_boolean(v)) {
                        add_error(detail, f->name, v, "Input should be a valid boolean",
                                  "bool_type");
                        return -EINVAL;
                }
                b = json_is_true(v);
                memcpy(slot, &b, sizeof(b));
                return 0;
        case _API_T_MAX:
                break;
        }
        abort(); /* a field table with a bad type is a programming error */
}

static const struct api_field *find_field(const struct api_field *fields, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(fields[i].name, key) == 0)
                        return &fields[i];
        return NULL;
}

static size_t slot_size(enum api_ftype t)
{
        switch (t) {
        case API_T_STRING:
                return sizeof(const char *);
        case API_T_INT:
                return sizeof(long long);
        case API_T_NUMBER:
                return sizeof(double);
        case API_T_BOOL:
                return sizeof(bool);
        case _API_T_MAX:
                break;
        }
        abort();
}

static void check_fields(const json_t *body, const struct api_field *fields, size_t n, void *dst,
                         size_t dst_size, json_t *detail)
{
        for (size_t i = 0; i < n; i++) {
                const struct api_field *f = &fields[i];
                const json_t *v = json_object_get(body, f->name);

                if (f->offset + slot_size(f->type) > dst_size)
                        abort(); /* a field table that does not fit its struct */

                if (!v) {
                        if (f->required)
                                add_error(detail, f->name, body, "Field required", "missing");
                        continue;
                }
                if (json_is_null(v) && f->nullable)
                        continue;
                (void)check_value(f, v, (char *)dst + f->offset, detail);
        }
}

static void check_extra(const json_t *body, const struct api_field *fields, size_t n,
                        json_t *detail)
{
        const char *key;
        json_t *v;

        json_object_foreach((json_t *)body, key, v) {
                if (!find_field(fields, n, key))
                        add_error(detail, key, v, "Extra inputs are not permitted",
                                  "extra_forbidden");
        }
}

int api_fields_unpack(const json_t *body, const struct api_field *fields, size_t n_fields,
                      void *dst, size_t dst_size, json_t *detail)
{
        size_t before = json_array_size(detail);
        cleanup_free char *tmp = NULL;
        json_t *loc;

        if (!body) {
                for (size_t i = 0; i < n_fields; i++)
                        if (fields[i].required) {
                                loc = json_pack("[s]", "body");
                                if (!loc)
                                        abort();
                                api_detail_add(detail, loc, "Field required", "missing");
                                return -EINVAL;
                        }
                return 0;
        }
        /* Written to a copy: dst is untouched unless everything checks out. */
        tmp = aio_xmalloc(dst_size);
        memcpy(tmp, dst, dst_size);
        check_fields(body, fields, n_fields, tmp, dst_size, detail);
        check_extra(body, fields, n_fields, detail);
        if (json_array_size(detail) != before)
                return -EINVAL;
        memcpy(dst, tmp, dst_size);
        return 0;
}
