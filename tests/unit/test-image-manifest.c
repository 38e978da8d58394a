/* image-manifest.c: docker save manifests, OCI indexes and manifests, image configs; and the
 * image names of image.c. Pure parsing, no files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

#include "image-internal.h"
#include "image.h"
#include "tests/unit/unit.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"

static int docker(const char *json, const char *want, struct rt_image_plan *p, struct aio_err *err)
{
        *p = (struct rt_image_plan){0};
        return rt_image_plan_docker(json, strlen(json), want, p, err);
}

static void test_docker_manifest(void **state)
{
        static const char legacy[] =
                "[{\"Config\":\"" H1 ".json\",\"RepoTags\":[\"docker.io/library/alpine:3\"],"
                "\"Layers\":[\"abc/layer.tar\",\"blobs/sha256/" H2 "\"]}]";
        struct rt_image_plan p;
        struct aio_err err = {0};

        (void)state;
        assert_int_equal(docker(legacy, NULL, &p, &err), 0);
        assert_int_equal(p.format, RT_IMAGE_DOCKER);
        assert_string_equal(p.ref, "alpine:3");
        assert_string_equal(p.config_path, H1 ".json");
        assert_string_equal(p.config_digest, "sha256:" H1); /* named by its digest */
        assert_int_equal(p.n_layers, 2);
        assert_string_equal(p.layers[0].path, "abc/layer.tar");
        assert_string_equal(p.layers[0].digest, ""); /* an id, not a digest */
        assert_string_equal(p.layers[1].digest, "sha256:" H2);
        rt_image_plan_free(&p);
}

static void test_docker_pick_and_refuse(void **state)
{
        static const char two[] = "[{\"Config\":\"a.json\",\"RepoTags\":[\"a:1\"],\"Layers\":[]},"
                                  "{\"Config\":\"b.json\",\"RepoTags\":[\"b:2\"],\"Layers\":[]}]";
        static const char *const bad[] = {
                "{}",
                "[]",
                "[{\"Config\":\"../c.json\",\"Layers\":[]}]",
                "[{\"Config\":\"/c.json\",\"Layers\":[]}]",
                "[{\"Config\":\"c.json\",\"Layers\":[\"../../etc/shadow\"]}]",
                "[{\"Config\":\"c.json\",\"Layers\":[7]}]",
                "[{\"Config\":\"c.json\"}]",
                "[{\"Config\":\"c.json\",\"Config\":\"d.json\",\"Layers\":[]}]", /* duplicate */
                "not json",
        };
        struct rt_image_plan p;
        struct aio_err err = {0};

        (void)state;
        assert_int_equal(docker(two, NULL, &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "2 images"));
        rt_image_plan_free(&p);
        assert_int_equal(docker(two, "b:2", &p, &err), 0);
        assert_string_equal(p.config_path, "b.json");
        assert_string_equal(p.ref, "b:2");
        rt_image_plan_free(&p);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (docker(bad[i], NULL, &p, &err) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
                rt_image_plan_free(&p);
        }
        assert_int_equal(docker(bad[4], NULL, &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "layer 1 '../../etc/shadow'"));
        rt_image_plan_free(&p);
}

#define DESC(mt, h, extra) \
        "{\"mediaType\":\"application/vnd.oci.image." mt "\",\"digest\":\"sha256:" h "\"" extra "}"
#define PLAT(a) ",\"platform\":{\"os\":\"linux\",\"architecture\":\"" a "\"}"

static int pick(const char *json, const char *want, char digest[RT_DIGEST_MAX], char **ref,
                struct aio_err *err)
{
        *ref = NULL;
        return rt_image_oci_pick(json, strlen(json), want, "amd64", digest, ref, err);
}

static void test_oci_index(void **state)
{
        static const char multi[] =
                "{\"manifests\":[" DESC("manifest.v1+json", H1, PLAT("arm64")) "," DESC(
                        "manifest.v1+json", H2,
                        PLAT("amd64") ",\"annotations\":{\"io.containerd.image.name\":"
                                      "\"docker.io/library/debian:12\"}") "," DESC("index.v1+"
                                                                                   "json",
                                                                                   H3, "") "]}";
        static const char one[] = "{\"manifests\":[" DESC(
                "manifest.v1+json", H1,
                ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"3.19\"}") "]}";
        static const char nested[] = "{\"manifests\":[" DESC("index.v1+json", H3, "") "]}";
        char digest[RT_DIGEST_MAX];
        struct aio_err err = {0};
        char *ref;

        (void)state;
        /* an amd64 manifest and a nested index: ambiguous without a name */
        assert_int_equal(pick(multi, NULL, digest, &ref, &err), -EINVAL);
        assert_null(ref);
        assert_int_equal(pick(multi, "debian:12", digest, &ref, &err), 0);
        assert_string_equal(digest, "sha256:" H2);
        assert_string_equal(ref, "debian:12");
        free(ref);
        assert_int_equal(pick(one, NULL, digest, &ref, &err), 0);
        assert_string_equal(ref, "3.19");
        free(ref);
        /* the tag alone matches a name with that tag */
        assert_int_equal(pick(one, "alpine:3.19", digest, &ref, &err), 0);
        free(ref);
        assert_int_equal(pick(nested, NULL, digest, &ref, &err), 1);
        assert_string_equal(digest, "sha256:" H3);
        assert_int_equal(pick("{\"manifests\":[" DESC("manifest.v1+json", H1, PLAT("arm64")) "]}",
                              NULL, digest, &ref, &err),
                         -ENOENT);
        assert_non_null(strstr(err.msg, "linux/amd64"));
        assert_int_equal(pick("{\"manifests\":[" DESC("manifest.v1+json", "123", "") "]}", NULL,
                              digest, &ref, &err),
                         -EINVAL);
        assert_int_equal(pick("{\"manifests\":{}}", NULL, digest, &ref, &err), -EINVAL);
}

static void test_oci_manifest_and_config(void **state)
{
        static const char man[] = "{\"config\":{\"digest\":\"sha256:" H1 "\"},\"layers\":[" DESC(
                "layer.v1.tar+gzip", H2, "") "," DESC("layer.v1.tar+zstd", H3, "") "]}";
        static const char cfg[] = "{\"created\":\"2024-01-01T00:00:00Z\",\"rootfs\":{\"type\":"
                                  "\"layers\",\"diff_ids\":[\"sha256:" H3 "\",\"sha256:" H2 "\"]}}";
        static const char *const bad_man[] = {
                "{\"config\":{\"digest\":\"sha512:" H1 "\"},\"layers\":[]}",
                "{\"config\":{\"digest\":\"sha256:../../x\"},\"layers\":[]}",
                "{\"config\":{\"digest\":\"sha256:" H1 "\"}}",
                "{\"config\":{\"digest\":\"sha256:" H1
                "\"},\"layers\":[" DESC("layer.v1.tar", H2, ",\"urls\":[\"http://x\"]") "]}",
                "{\"config\":{\"digest\":\"sha256:" H1 "\"},\"layers\":[{\"mediaType\":"
                "\"application/x-evil\",\"digest\":\"sha256:" H2 "\"}]}",
        };
        static const char no_ids[] = "{\"rootfs\":{\"diff_ids\":[]}}";
        struct rt_image_plan p = {0};
        struct aio_err err = {0};

        (void)state;
        assert_int_equal(rt_image_plan_oci(man, strlen(man), &p, &err), 0);
        assert_int_equal(p.format, RT_IMAGE_OCI);
        assert_string_equal(p.config_path, "blobs/sha256/" H1);
        assert_int_equal(p.n_layers, 2);
        assert_string_equal(p.layers[1].path, "blobs/sha256/" H3);
        assert_string_equal(p.layers[1].digest, "sha256:" H3);
        assert_int_equal(rt_image_plan_config(cfg, strlen(cfg), &p, &err), 0);
        assert_string_equal(p.layers[0].diff_id, "sha256:" H3);
        assert_string_equal(p.created, "2024-01-01T00:00:00Z");
        /* one diff_id per layer */
        assert_int_equal(rt_image_plan_config(no_ids, strlen(no_ids), &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "0 rootfs.diff_ids for 2 layers"));
        rt_image_plan_free(&p);
        for (size_t i = 0; i < ELEMENTSOF(bad_man); i++) {
                p = (struct rt_image_plan){0};
                if (rt_image_plan_oci(bad_man[i], strlen(bad_man[i]), &p, &err) != -EINVAL)
                        fail_msg("accepted: %s", bad_man[i]);
                rt_image_plan_free(&p);
        }
}

static void test_names(void **state)
{
        static const char *const good[] = {
                "a", "alpine:3.19", "library/debian:12", "ghcr.io/o/r:v1.2-rc_3", "x@sha256:abc",
                "0"};
        static const char *const bad[] = {"",       "-a",   ".a",  "/a",    "a/",   "a//b",
                                          "a/../b", "a/.b", "a b", "a%2fb", "a\nb", "\xc3\xa9"};
        struct aio_err err = {0};
        char longname[RT_IMAGE_NAME_MAX + 2];
        char *s;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (rt_image_name_check(good[i], &err) != 0)
                        fail_msg("refused '%s': %s", good[i], err.msg);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (rt_image_name_check(bad[i], &err) != -EINVAL)
                        fail_msg("accepted '%s'", bad[i]);
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(rt_image_name_check(longname, &err), -EINVAL);
        longname[RT_IMAGE_NAME_MAX] = '\0';
        assert_int_equal(rt_image_name_check(longname, &err), 0);
        s = rt_image_name_short("docker.io/library/alpine:3");
        assert_string_equal(s, "alpine:3");
        free(s);
        s = rt_image_name_short("docker.io/user/app:1");
        assert_string_equal(s, "user/app:1");
        free(s);
        s = rt_image_name_short("quay.io/x/y");
        assert_string_equal(s, "quay.io/x/y");
        free(s);
        assert_string_equal(rt_image_format_name(RT_IMAGE_OCI), "oci");
        assert_string_equal(rt_image_format_name(_RT_IMAGE_FORMAT_MAX), "unknown");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_docker_manifest),
                cmocka_unit_test(test_docker_pick_and_refuse),
                cmocka_unit_test(test_oci_index),
                cmocka_unit_test(test_oci_manifest_and_config),
                cmocka_unit_test(test_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
