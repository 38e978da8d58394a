/* api/validate.c: field tables -> pydantic-style 422 items; dst untouched unless all is well. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/cleanup.h"

#include "api/validate.h"
#include "tests/unit/unit.h"

struct req {
        const char *name, *mode;
        long long count;
        double ratio;
        bool flag;
};

static bool lower_only(const char *s)
{
        return s[0] && s[strspn(s, "abcdefghijklmnopqrstuvwxyz")] == '\0';
}

/* clang-format off */
static const struct api_field fields[] = {
        { "name",  API_T_STRING, true, false, offsetof(struct req, name), 5, lower_only, "^[a-z]+$" },
        { "mode",  API_T_STRING, false, true, offsetof(struct req, mode),  3, NULL, NULL },
        { "count", API_T_INT,    false, false, offsetof(struct req, count), 0, NULL, NULL },
        { "ratio", API_T_NUMBER, false, false, offsetof(struct req, ratio), 0, NULL, NULL },
        { "flag",  API_T_BOOL,   false, false, offsetof(struct req, flag), 0, NULL, NULL },
};
/* clang-format on */

static const struct req defaults = {.mode = "dflt", .count = 7, .ratio = 0.5};

/* The last body: strings unpacked from it stay valid until the next run(). */
static json_t *body;

/* Unpacks the JSON text; returns the detail list (NULL on success). */
static json_t *run(const char *text, struct req *r)
{
        json_error_t jerr;
        json_t *detail = json_array();
        int ret;

        json_decref(body);
        body = text ? json_loads(text, 0, &jerr) : NULL;
        if (text)
                assert_non_null(body);
        *r = defaults;
        ret = api_fields_unpack(body, fields, ELEMENTSOF(fields), r, sizeof(*r), detail);
        if (ret == 0) {
                assert_int_equal(json_array_size(detail), 0);
                json_decref(detail);
                return NULL;
        }
        assert_int_equal(ret, -EINVAL);
        assert_true(json_array_size(detail) > 0);
        /* nothing was written on failure */
        assert_ptr_equal(r->mode, defaults.mode);
        assert_int_equal(r->count, defaults.count);
        return detail;
}

static void expect_one(json_t *detail, const char *field, const char *type, const char *msg)
{
        json_t *item;
        size_t i;

        json_array_foreach(detail, i, item) {
                json_t *loc = json_object_get(item, "loc");

                if (strcmp(json_string_value(json_object_get(item, "type")), type) != 0)
                        continue;
                assert_string_equal(json_string_value(json_array_get(loc, 0)), "body");
                if (field)
                        assert_string_equal(json_string_value(json_array_get(loc, 1)), field);
                else
                        assert_int_equal(json_array_size(loc), 1);
                if (msg)
                        assert_string_equal(json_string_value(json_object_get(item, "msg")), msg);
                return;
        }
        fail_msg("no %s error for %s", type, field ? field : "body");
}

static void test_success(void **state)
{
        struct req r;

        (void)state;
        assert_null(run("{\"name\":\"abc\"}", &r));
        assert_string_equal(r.name, "abc");
        assert_string_equal(r.mode, "dflt");
        assert_int_equal(r.count, 7);
        assert_null(
                run("{\"name\":\"ab\",\"mode\":null,\"count\":3.0,\"ratio\":2,\"flag\":true}", &r));
        assert_string_equal(r.mode, "dflt"); /* null keeps the default where allowed */
        assert_int_equal(r.count, 3);
        assert_true(r.ratio == 2.0);
        assert_true(r.flag);
        assert_null(run("{\"name\":\"abcde\"}", &r));
        /* three characters, six bytes: the limit counts characters */
        assert_null(run("{\"name\":\"a\",\"mode\":\"\u00e9\u00e9\u00e9\"}", &r));
        assert_string_equal(r.mode, "\xc3\xa9\xc3\xa9\xc3\xa9");
        json_decref(body);
        body = NULL;
}

static void test_errors(void **state)
{
        struct req r;
        json_t *d;

        (void)state;
        d = run(NULL, &r);
        expect_one(d, NULL, "missing", "Field required");
        json_decref(d);
        d = run("{}", &r);
        expect_one(d, "name", "missing", "Field required");
        json_decref(d);
        d = run("{\"name\":\"abcdef\"}", &r);
        expect_one(d, "name", "string_too_long", "String should have at most 5 characters");
        json_decref(d);
        d = run("{\"name\":\"aB\"}", &r);
        expect_one(d, "name", "string_pattern_mismatch", "String should match pattern '^[a-z]+$'");
        json_decref(d);
        /* every problem at once, as pydantic reports them */
        d = run("{\"name\":1,\"count\":\"3\",\"ratio\":\"x\",\"flag\":1,\"extra\":0,\"mode\":[]}",
                &r);
        assert_int_equal(json_array_size(d), 6);
        expect_one(d, "name", "string_type", "Input should be a valid string");
        expect_one(d, "count", "int_type", "Input should be a valid integer");
        expect_one(d, "ratio", "float_type", "Input should be a valid number");
        expect_one(d, "flag", "bool_type", "Input should be a valid boolean");
        expect_one(d, "extra", "extra_forbidden", "Extra inputs are not permitted");
        json_decref(d);
        d = run("{\"name\":\"a\",\"count\":1.5}", &r);
        expect_one(d, "count", "int_from_float", NULL);
        json_decref(d);
        /* null where the field is not nullable */
        d = run("{\"name\":\"a\",\"count\":null}", &r);
        expect_one(d, "count", "int_type", NULL);
        json_decref(d);
        d = run("{\"name\":null}", &r);
        expect_one(d, "name", "string_type", NULL);
        json_decref(d);
        d = run("{\"name\":\"a\",\"mode\":\"abcd\"}", &r);
        expect_one(d, "mode", "string_too_long", "String should have at most 3 characters");
        json_decref(d);
        json_decref(body);
        body = NULL;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_success),
                cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
