/*
 * keyring — escape class #10 (runtimes.md §3): kernel keyrings are not namespaced.
 * A jail could read or modify the host's or other sandboxes' session keys, or reach keyring
 * bugs such as CVE-2016-0728 (refcount overflow in KEYCTL_JOIN_SESSION_KEYRING).
 * Defences: seccomp denies keyctl, add_key and request_key; /proc/keys is masked (procmask).
 * ENOKEY from request_key means the call reached the kernel.
 */
#include <linux/keyctl.h>
#include <sys/syscall.h>

#include "probe.h"

static int try_get_session(void)
{
        long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);

        if (id < 0)
                return errno;
        probe_note("session keyring id %ld", id);
        return P_OK;
}

static int try_join(void)
{
        long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "aio-probe");

        if (id < 0)
                return errno;
        probe_note("joined session keyring %ld", id);
        return P_OK;
}

static int try_add_key(void)
{
        long id = syscall(SYS_add_key, "user", "aio-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);

        if (id < 0)
                return errno;
        probe_note("added key %ld", id);
        return P_OK;
}

static int try_request_key(void)
{
        long id = syscall(SYS_request_key, "user", "aio-probe-absent", NULL, 0);

        if (id >= 0 || errno == ENOKEY) {
                probe_note("request_key reached the kernel (%s)", id >= 0 ? "found" : "ENOKEY");
                return P_OK;
        }
        return errno;
}

/* clang-format off */
static const struct probe_attempt attempts[] = {
        { "keyctl(GET_KEYRING_ID, session)", try_get_session, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "keyctl(JOIN_SESSION_KEYRING)", try_join, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "add_key(user, process keyring)", try_add_key, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
        { "request_key(user)", try_request_key, true,
          EXPECT(EPERM), "seccomp", EXPECT(P_OK), NULL, EXPECT(P_OK) },
};
/* clang-format on */

int main(int argc, char **argv)
{
        return probe_main(argc, argv, attempts, ARRAY_LEN(attempts));
}
