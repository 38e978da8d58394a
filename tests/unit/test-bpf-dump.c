/* The disassembler: names of loads, syscalls and actions on a compiled filter. */
#include <errno.h>
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h> /* before cmocka.h, whatever order unit.h ends up in */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#include "policy/bpf-dump.h"
#include "policy/bpf.h"
#include "policy/compile.h"
#include "policy/diag.h"
#include "policy/seccomp-policy.h"
#include "tests/unit/unit.h"

/* Dumps b into a malloc'd string. */
static char *dump_to_string(const struct pol_bpf *b)
{
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        assert_non_null(f);
        pol_bpf_dump(b, f);
        assert_int_equal(fclose(f), 0);
        return s;
}

static void test_dump_names_syscalls(void **state)
{
        static const char text[] =
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                "{\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                "{\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,"
                "\"value\":4294967295,\"valueTwo\":21522,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
        cleanup_seccomp struct pol_seccomp *p = NULL;
        cleanup_bpf struct pol_bpf b = {0};
        struct pol_opts opts = {.kernel = {6, 1}};
        struct pol_diag d = {0};
        struct aio_err err = {0};
        json_t *root = json_loads(text, 0, NULL);
        char *s;

        (void)state;
        assert_int_equal(pol_seccomp_parse(root, &opts, &p, &d, &err), 0);
        json_decref(root);
        assert_int_equal(pol_seccomp_compile(p, &b, &err), 0);
        s = dump_to_string(&b);
        assert_non_null(strstr(s, "0000: ld   [4]"));
        assert_non_null(strstr(s, "; arch\n"));
        assert_non_null(strstr(s, "; AUDIT_ARCH_X86_64\n"));
        assert_non_null(strstr(s, "; x32 syscall bit\n"));
        assert_non_null(strstr(s, "ret  KILL_PROCESS\n"));
        assert_non_null(strstr(s, "ret  ERRNO(38)                              ; ENOSYS\n"));
        assert_non_null(strstr(s, "ret  ERRNO(1)                               ; EPERM\n"));
        assert_non_null(strstr(s, "ret  ALLOW\n"));
        assert_non_null(strstr(s, "jeq  #39 "));
        assert_non_null(strstr(s, "; getpid\n"));
        assert_non_null(strstr(s, "; ioctl\n"));
        assert_non_null(strstr(s, "; args[1].lo\n"));
        assert_non_null(strstr(s, "; args[1].hi\n"));
        assert_non_null(strstr(s, "jeq  #0x5412 "));
        /* the exception stage ends in a jump to the main stage */
        assert_non_null(strstr(s, ": ja   0"));
        /* one line per instruction */
        {
                size_t lines = 0;

                for (const char *c = s; *c; c++)
                        lines += *c == '\n';
                assert_int_equal(lines, b.len);
        }
        free(s);
}

static void test_dump_other_opcodes(void **state)
{
        struct sock_filter prog[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
                BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff),
                BPF_STMT(BPF_ST, 3),
                BPF_STMT(BPF_LDX | BPF_MEM, 3),
                BPF_STMT(BPF_MISC | BPF_TXA, 0),
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x10, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 7),
                BPF_STMT(BPF_RET | BPF_A, 0),
        };
        struct pol_bpf b = {prog, sizeof(prog) / sizeof(prog[0])};
        struct aio_err err = {0};
        char *s;

        (void)state;
        assert_int_equal(pol_bpf_check(&b, &err), 0);
        s = dump_to_string(&b);
        assert_non_null(strstr(s, "0000: ld   [16]"));
        assert_non_null(strstr(s, "; args[0].lo\n"));
        assert_non_null(strstr(s, "0001: and  #0xff\n"));
        assert_non_null(strstr(s, "0002: st   M[3]\n"));
        assert_non_null(strstr(s, "0003: ldx  M[3]\n"));
        assert_non_null(strstr(s, "0004: txa  \n"));
        assert_non_null(strstr(s, "0005: jset #0x10 "));
        assert_non_null(strstr(s, "0006: ret  TRACE(7)\n"));
        assert_non_null(strstr(s, "0007: ret  A\n"));
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dump_names_syscalls),
                cmocka_unit_test(test_dump_other_opcodes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
