/* The order-is-security tables: namespaces, mounts, set-up steps. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>

#include "mount.h"
#include "ns.h"
#include "step.h"
#include "tests/unit/unit.h"

static void test_ns_roundtrip(void **state)
{
        (void)state;
        for (int t = 0; t < _RT_NS_MAX; t++) {
                const struct rt_ns *ns = rt_ns_get(t);

                assert_non_null(ns);
                assert_int_equal(rt_ns_from_string(ns->name), t);
        }
        assert_null(rt_ns_get(_RT_NS_MAX));
        assert_int_equal(rt_ns_from_string("bogus"), -EINVAL);
        /* user namespace first: every other one is owned by it */
        assert_string_equal(rt_ns_get(0)->name, "user");
}

static void test_ns_flags(void **state)
{
        int f = rt_ns_clone_flags(false);

        (void)state;
        assert_true(f & CLONE_NEWUSER);
        assert_true(f & CLONE_NEWNS);
        assert_true(f & CLONE_NEWPID);
        assert_true(f & CLONE_NEWNET);
        assert_true(f & CLONE_NEWIPC);
        assert_true(f & CLONE_NEWUTS);
        /* entered after the cgroup move, not at clone */
        assert_false(f & CLONE_NEWCGROUP);
        assert_false(rt_ns_clone_flags(true) & CLONE_NEWNET);
}

static int index_of(const struct rt_step *s, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(s[i].name, name) == 0)
                        return (int)i;
        return -1;
}

static void test_exec_step_order(void **state)
{
        size_t n;
        const struct rt_step *s = rt_exec_steps_get(&n);
        int caps = index_of(s, n, "caps"), nnp = index_of(s, n, "no-new-privs"),
            sec = index_of(s, n, "seccomp"), fds = index_of(s, n, "close-fds"),
            rl = index_of(s, n, "rlimits"), sess = index_of(s, n, "session");

        (void)state;
        assert_true(caps >= 0 && nnp >= 0 && sec >= 0 && fds >= 0 && rl >= 0 && sess >= 0);
        /* seccomp last; caps before no-new-privs before seccomp */
        assert_int_equal(sec, (int)n - 1);
        assert_true(caps < nnp);
        assert_true(nnp < sec);
        assert_true(fds < sec);
        assert_true(index_of(s, n, "listen-fd") < fds); /* fd 3 survives the sweep */
        assert_true(rl < caps); /* raising limits may need privileges we drop */
        assert_int_equal(sess, 0);
}

static void test_child_step_order(void **state)
{
        size_t n;
        const struct rt_step *s = rt_child_steps_get(&n);

        (void)state;
        assert_int_equal(index_of(s, n, "sync-wait"), 0); /* maps written before anything */
        assert_true(index_of(s, n, "propagation") < index_of(s, n, "rootfs"));
        assert_true(index_of(s, n, "mounts") < index_of(s, n, "pivot-root"));
        assert_true(index_of(s, n, "user-mounts") < index_of(s, n, "pivot-root"));
        assert_true(index_of(s, n, "pivot-root") < index_of(s, n, "cgroup-ns"));
        /* nothing of the jail's starts before it is in its cgroup: the wait is the last step
         * but the cgroup namespace, and init (which forks the command) comes after both */
        assert_int_equal(index_of(s, n, "cgroup-wait"), (int)n - 2);
        assert_int_equal(index_of(s, n, "cgroup-ns"), (int)n - 1);
}

static void test_parent_step_order(void **state)
{
        size_t n;
        const struct rt_step *s = rt_parent_steps_get(&n);

        (void)state;
        assert_int_equal(index_of(s, n, "seccomp"), 1); /* never compiled or read late */
        assert_true(index_of(s, n, "cgroup") < index_of(s, n, "clone"));
        assert_true(index_of(s, n, "clone") < index_of(s, n, "user-ns"));
        assert_true(index_of(s, n, "user-ns") < index_of(s, n, "go"));
        assert_true(index_of(s, n, "go") < index_of(s, n, "cgroup-join"));
        assert_true(index_of(s, n, "cgroup-join") < index_of(s, n, "jail"));
}

/* Every remount row follows a bind row for the same path (mask-after-bind). */
static void test_mask_after_bind(void **state)
{
        (void)state;
        for (size_t i = 0; i < rt_base_mounts_len; i++) {
                const struct rt_mount *m = &rt_base_mounts[i];

                if (!(m->flags & MS_REMOUNT))
                        continue;
                assert_true(i > 0);
                assert_string_equal(rt_base_mounts[i - 1].where, m->where);
                assert_true(rt_base_mounts[i - 1].flags & MS_BIND);
                assert_true(m->flags & MS_RDONLY);
                assert_true(m->flags & MS_NOSUID);
        }
}

static bool listed(const char *const *list, size_t n, const char *path)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], path) == 0)
                        return true;
        return false;
}

/* policy/mounts.json, as compiled in, holds at least what DESIGN.md names. */
static void test_required_masks(void **state)
{
        static const char *const hidden[] = {"/proc/kcore",         "/proc/keys",
                                             "/proc/sysrq-trigger", "/proc/timer_list",
                                             "/proc/kallsyms",      "/sys/firmware"};
        static const char *const frozen[] = {"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq"};

        (void)state;
        for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
                if (!listed(rt_masked_paths, rt_masked_paths_len, hidden[i]))
                        fail_msg("%s is not masked", hidden[i]);
        for (size_t i = 0; i < sizeof(frozen) / sizeof(frozen[0]); i++)
                if (!listed(rt_readonly_paths, rt_readonly_paths_len, frozen[i]))
                        fail_msg("%s is not read-only", frozen[i]);
        /* /proc comes first: the masks are mounted on top of it; /sys is read-only */
        assert_string_equal(rt_base_mounts[0].where, "/proc");
        for (size_t i = 0; i < rt_base_mounts_len; i++) {
                if (rt_base_mounts[i].type && strcmp(rt_base_mounts[i].type, "sysfs") == 0)
                        assert_true(rt_base_mounts[i].flags & MS_RDONLY);
                if (!(rt_base_mounts[i].flags & MS_REMOUNT) && rt_base_mounts[i].type &&
                    strcmp(rt_base_mounts[i].type, "devpts") != 0)
                        assert_true(rt_base_mounts[i].flags & MS_NOSUID);
        }
}

static void test_devices(void **state)
{
        (void)state;
        assert_true(rt_devices_len >= 6);
        for (size_t i = 0; i < rt_devices_len; i++) {
                assert_true(strncmp(rt_devices[i].path, "/dev/", 5) == 0);
                /* memory (1:1), kmem (1:2), port (1:4) must never be exposed */
                assert_false(rt_devices[i].major == 1 &&
                             (rt_devices[i].minor == 1 || rt_devices[i].minor == 2 ||
                              rt_devices[i].minor == 4));
        }
        for (size_t i = 0; i < rt_dev_symlinks_len; i++)
                assert_true(strncmp(rt_dev_symlinks[i].path, "/dev/", 5) == 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ns_roundtrip),      cmocka_unit_test(test_ns_flags),
                cmocka_unit_test(test_exec_step_order),   cmocka_unit_test(test_child_step_order),
                cmocka_unit_test(test_parent_step_order), cmocka_unit_test(test_mask_after_bind),
                cmocka_unit_test(test_required_masks),    cmocka_unit_test(test_devices),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
