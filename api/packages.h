#pragma once

/* GET /v1/sandbox/packages/python and /nodejs (upstream-api.md §2.1): the installed packages as
 * upstream lists them (a text in data: "  - name==version" lines for Python, "Node.js
 * Packages:\n  - name@version\n" for npm's global ones), read from the package metadata on disk
 * (dist-info/egg-info, package.json) instead of running pip or npm. */

struct aio_err;
struct api_req;
struct api_resp;

/* The text for the Python packages in the site directories dirs (NULL-terminated, in sys.path
 * order: the first of two with the same name wins); malloc'ed. */
char *api_python_packages_text(const char *const *dirs);
/* The text for the npm packages in the node_modules directories dirs; malloc'ed. */
char *api_node_packages_text(const char *const *dirs);
/* The directories looked at: HOME's user site, then /usr/local, then /usr (NULL-terminated,
 * existing ones only; free with aio_strv_free()). */
char **api_python_site_dirs(void);
char **api_node_module_dirs(void);

int api_packages_python(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
int api_packages_nodejs(const struct api_req *req, struct api_resp *resp, struct aio_err *err);
