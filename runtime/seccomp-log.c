#include "seccomp-log.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#include "bpf-interp.h"
#include "seccomp.h"

int rt_seccomp_install_logged(const struct rt_bpf *b, struct aio_err *err)
{
        struct rt_bpf notify;
        struct sock_fprog prog;
        long fd;

        rt_bpf_notify_variant(b, &notify);
        prog = (struct sock_fprog){.len = (unsigned short)notify.len, .filter = notify.insns};
        fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        rt_bpf_free(&notify);
        if (fd < 0)
                return aio_error(err, errno, "load the seccomp filter with a listener");
        return (int)fd;
}

static void report(const struct seccomp_data *d, uint32_t pid, int error)
{
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, d->nr);
        const char *ename = strerrorname_np(error);

        log_warn("seccomp: denied %s(%#llx, %#llx, %#llx, ...) [syscall %d] in pid %u: %s",
                 name ? name : "?", (unsigned long long)d->args[0], (unsigned long long)d->args[1],
                 (unsigned long long)d->args[2], d->nr, pid, ename ? ename : "?");
        free(name);
}

int rt_seccomp_log_answer(int listener, const struct rt_bpf *b, struct aio_err *err)
{
        struct seccomp_notif_sizes sz;
        cleanup_free struct seccomp_notif *req = NULL;
        cleanup_free struct seccomp_notif_resp *resp = NULL;
        uint32_t verdict;
        int error;

        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
                return aio_error(err, errno, "seccomp notification sizes");
        req = aio_xcalloc(1, sz.seccomp_notif > sizeof(*req) ? sz.seccomp_notif : sizeof(*req));
        resp = aio_xcalloc(1, sz.seccomp_notif_resp > sizeof(*resp) ? sz.seccomp_notif_resp
                                                                    : sizeof(*resp));
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
                /* ENOENT: the caller died while we looked */
                return errno == ENOENT || errno == EINTR
                               ? 0
                               : aio_error(err, errno, "seccomp notification");
        verdict = rt_bpf_run(b, &req->data);
        error = (verdict & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO
                        ? (int)(verdict & SECCOMP_RET_DATA)
                        : EPERM;
        resp->id = req->id;
        resp->error = -error;
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
                return aio_error(err, errno, "answer seccomp notification");
        report(&req->data, req->pid, error);
        return 0;
}
