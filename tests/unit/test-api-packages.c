/* api/packages.c: Python dist-info/egg-info and npm package.json metadata read from a made-up
 * tree, in upstream's text shapes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"

#include "api/packages.h"
#include "tests/unit/unit.h"

static char root[] = "/tmp/test-api-packages-XXXXXX";

static void put(const char *rel, const char *text)
{
        char path[512], dir[512];
        struct aio_err err = {0};

        (void)snprintf(path, sizeof(path), "%s/%s", root, rel);
        (void)snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(aio_mkdir_p(dir, 0755, &err), 0);
        assert_int_equal(aio_write_file(AT_FDCWD, path, text, strlen(text), 0644, &err), 0);
}

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(root))
                return -1;
        return 0;
}

static int teardown(void **state)
{
        struct aio_err err = {0};

        (void)state;
        return aio_rm_rf(AT_FDCWD, root, &err) < 0 ? -1 : 0;
}

static void test_python(void **state)
{
        char a[512], b[512];
        const char *dirs[] = {a, b, NULL};
        cleanup_free char *text = NULL, *none = NULL;

        (void)state;
        (void)snprintf(a, sizeof(a), "%s/user/site-packages", root);
        (void)snprintf(b, sizeof(b), "%s/usr/dist-packages", root);
        put("user/site-packages/requests-2.31.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n\nVersion: 9\n");
        /* the same project further down sys.path is hidden by the first */
        put("usr/dist-packages/Requests-2.28.1.dist-info/METADATA",
            "Metadata-Version: 2.1\r\nName: Requests\r\nVersion: 2.28.1\r\n");
        put("usr/dist-packages/PyYAML-6.0.egg-info/PKG-INFO", "Name: PyYAML\nVersion: 6.0\n");
        put("usr/dist-packages/six-1.16.0.egg-info",
            "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n");
        /* no Name header: from the directory's name */
        put("usr/dist-packages/zz_top-0.1.dist-info/METADATA", "Summary: x\n");
        put("usr/dist-packages/notapackage/METADATA", "Name: nope\n");
        text = api_python_packages_text(dirs);
        assert_string_equal(text, "  - PyYAML==6.0\n  - requests==2.31.0\n  - six==1.16.0\n"
                                  "  - zz_top==0.1");
        none = api_python_packages_text((const char *[]){"/nonexistent", NULL});
        assert_string_equal(none, "  - No global packages installed");
}

static void test_node(void **state)
{
        char a[512];
        const char *dirs[] = {a, NULL};
        cleanup_free char *text = NULL, *none = NULL;

        (void)state;
        (void)snprintf(a, sizeof(a), "%s/lib/node_modules", root);
        put("lib/node_modules/npm/package.json", "{\"name\": \"npm\", \"version\": \"10.2.0\"}");
        put("lib/node_modules/@scope/tool/package.json",
            "{\"name\": \"@scope/tool\", \"version\": \"1.0.0\", \"bin\": {}}");
        put("lib/node_modules/broken/package.json", "{not json");
        put("lib/node_modules/.bin/x", "");
        text = api_node_packages_text(dirs);
        assert_string_equal(text, "Node.js Packages:\n  - @scope/tool@1.0.0\n  - npm@10.2.0\n");
        none = api_node_packages_text((const char *[]){"/nonexistent", NULL});
        assert_string_equal(none, "Node.js Packages:\n  - No global packages installed\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_python),
                cmocka_unit_test(test_node),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
