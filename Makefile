# aio — build, test, run.  `make help` lists the targets.
PREFIX     ?= /usr/local
DESTDIR    ?=
BUILD      ?= build
CC         ?= gcc
PKGS       := libseccomp libcap jansson libarchive
PYTHON     := /usr/bin/python3
GEN        := $(BUILD)/gen

WARN    := -Wall -Wextra -Werror -Wformat=2 -Werror=format-security -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wmissing-declarations -Wvla -Wimplicit-fallthrough \
           -Wnull-dereference -Wwrite-strings -Wundef
HARDEN  := -fstack-protector-strong -fstack-clash-protection -fcf-protection=full -fPIE
ifeq ($(DEBUG),1)
OPT     := -O1 -g3 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
           -U_FORTIFY_SOURCE
SANLD   := -fsanitize=address,undefined
else
OPT     := -O2 -g -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3
endif
GCCONLY := $(if $(findstring clang,$(CC)),,-ftrivial-auto-var-init=zero)
CFLAGS  ?=
CFLAGS  += -std=gnu11 $(OPT) $(WARN) $(HARDEN) $(GCCONLY) -D_GNU_SOURCE -iquote runtime -iquote . -iquote $(GEN) \
           -DAIO_POLICY_DIR='"$(PREFIX)/share/aio/policy"'
LDFLAGS += -pie -Wl,-z,relro,-z,now,-z,noexecstack -Wl,--as-needed $(SANLD)
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lseccomp -lcap -ljansson -larchive)

COMMON_SRC := $(wildcard runtime/common/*.c)
RT_SRC     := $(filter-out runtime/main.c runtime/unpack-main.c,$(wildcard runtime/*.c))
POL_SRC    := $(filter-out policy/main.c,$(wildcard policy/*.c))
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
PROBE_SRC  := $(wildcard tests/security/probes/*.c)
PROFILES   := $(wildcard policy/profiles/*.json)
API_SRC    := $(filter-out api/main.c,$(wildcard api/*.c api/routes/*.c))
CLI_SRC    := $(filter-out tools/aio/main.c,$(wildcard tools/aio/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
POLICY_DATA := $(GEN)/policy-data.h
COMMON_LIB := $(BUILD)/lib/libaiocommon.a
RT_LIB     := $(BUILD)/lib/libaiort.a
POL_LIB    := $(BUILD)/lib/libaiopolicy.a
API_LIB    := $(BUILD)/lib/libaioapi.a
CLI_LIB    := $(BUILD)/lib/libaiocli.a
CLI_LIBS   := $(shell pkg-config --libs libcurl jansson 2>/dev/null || echo -lcurl -ljansson) -lm
API_LIBS   := $(shell pkg-config --libs libmicrohttpd libcrypto 2>/dev/null || echo -lmicrohttpd -lcrypto) \
              -lwslay -lpthread
BINS       := $(BUILD)/bin/aio-run $(BUILD)/bin/aio-unpack $(if $(wildcard policy/main.c),$(BUILD)/bin/aio-policy)
UNITS      := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
PROBES     := $(patsubst tests/security/probes/%.c,$(BUILD)/probes/%,$(PROBE_SRC))
BPFS       := $(if $(wildcard policy/main.c),$(patsubst policy/profiles/%.json,$(BUILD)/policy/%.bpf,$(PROFILES)))
BINS       += $(if $(wildcard api/main.c),$(BUILD)/bin/aio-apid)
BINS       += $(if $(wildcard tools/aio/main.c),$(BUILD)/bin/aio)
# The /terminal page of aio-apid: xterm.js from the npm registry (pinned), into the build tree.
TERMINAL_DIR := $(BUILD)/share/aio/terminal
TERMINAL     := $(TERMINAL_DIR)/terminal.html $(if $(shell command -v npm),$(TERMINAL_DIR)/xterm.js)

.PHONY: all deps run test unit integration security vm bench debug lint format format-check \
        install clean help fuzz headers-check rootfs
all: $(BINS) $(BPFS) $(TERMINAL)

help:
	@echo 'make            build aio-run, aio-unpack, aio-policy and the compiled seccomp profiles'
	@echo 'make deps       apt-install what building, running and testing need (idempotent)'
	@echo 'make run        start a sandbox with its API on 127.0.0.1:8080 (Ctrl-C stops it); rootfs: the'
	@echo '                default image if built, else host; IMAGE=default builds it, IMAGE=host|FILE'
	@echo 'make rootfs     build the default Debian image (rootfs/; a no-op when its inputs are unchanged)'
	@echo 'make test       unit, integration and security tests (installs what is missing)'
	@echo 'make vm         cgroup v2 tests under qemu'
	@echo 'make bench      start-up, RSS and unpack benchmarks against bwrap and runc'
	@echo 'make debug      ASan/UBSan build in build-debug/'
	@echo 'make lint       clang-tidy, cppcheck, gcc -fanalyzer, clang-format check'

deps:
	@tools/deps.sh

# policy/caps.json and policy/mounts.json, compiled in: one copy of that data for every binary.
$(POLICY_DATA): policy/caps.json policy/mounts.json tools/gen-policy-data.sh
	@mkdir -p $(dir $@)
	@tools/gen-policy-data.sh policy/caps.json policy/mounts.json >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c | $(POLICY_DATA)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(COMMON_LIB): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^
$(RT_LIB): $(call obj,$(RT_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^
$(POL_LIB): $(call obj,$(POL_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^
$(API_LIB): $(call obj,$(API_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^
$(CLI_LIB): $(call obj,$(CLI_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/aio-run: $(call obj,runtime/main.c) $(RT_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@
# aio-unpack: the only binary that loads libarchive (aio-run runs it when a tarball is not in the
# store yet). aio-run must not pull store.o from the library (tests/integration/test_unpack.py).
$(BUILD)/bin/aio-unpack: $(call obj,runtime/unpack-main.c) $(RT_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@
$(BUILD)/bin/aio-policy: $(call obj,policy/main.c) $(POL_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@
# aio-apid: the API server inside the jail (api/http.c is its only user of libmicrohttpd).
$(BUILD)/bin/aio-apid: $(call obj,api/main.c) $(API_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) $^ $(API_LIBS) $(LIBS) -o $@
# aio: the command-line client of aio-apid (libcurl).
$(BUILD)/bin/aio: $(call obj,tools/aio/main.c) $(CLI_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CLI_LIBS) -o $@
$(TERMINAL_DIR)/terminal.html: api/www/terminal.html
	@mkdir -p $(dir $@) && cp $< $@
$(TERMINAL_DIR)/xterm.js:
	@mkdir -p $(BUILD)/npm/xterm $(BUILD)/npm/fit $(dir $@)
	@echo "  NPM     xterm@5.3.0 xterm-addon-fit@0.8.0"
	@cd $(BUILD)/npm && npm pack --silent xterm@5.3.0 xterm-addon-fit@0.8.0 >/dev/null 2>&1
	@tar -xzf $(BUILD)/npm/xterm-5.3.0.tgz -C $(BUILD)/npm/xterm
	@tar -xzf $(BUILD)/npm/xterm-addon-fit-0.8.0.tgz -C $(BUILD)/npm/fit
	@cp $(BUILD)/npm/fit/package/lib/xterm-addon-fit.js $(dir $@)addon-fit.js
	@cp $(BUILD)/npm/xterm/package/css/xterm.css $(BUILD)/npm/xterm/package/lib/xterm.js $(dir $@)
$(BUILD)/policy/%.bpf: policy/profiles/%.json $(BUILD)/bin/aio-policy
	@mkdir -p $(dir $@)
	$(BUILD)/bin/aio-policy compile $< -o $@

# Unit tests: each links the module libraries; tests/unit/wraps.mk may add -Wl,--wrap=... per test.
-include tests/unit/wraps.mk
$(BUILD)/tests/test-%: tests/unit/test-%.c $(RT_LIB) $(POL_LIB) $(API_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations $(LDFLAGS) $(WRAP_test-$*) \
		$< $(RT_LIB) $(POL_LIB) $(API_LIB) $(COMMON_LIB) $(API_LIBS) $(LIBS) -lcmocka -o $@

# The client's tests link its library (the shorter stem makes this rule win over test-%).
$(BUILD)/tests/test-aio-cli%: tests/unit/test-aio-cli%.c $(CLI_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations $(LDFLAGS) \
		$< $(CLI_LIB) $(COMMON_LIB) $(CLI_LIBS) -lcmocka -o $@

# Security probes: small static programs run inside jails.
$(BUILD)/probes/%: tests/security/probes/%.c tests/security/probes/probe.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Werror -D_GNU_SOURCE -static $< -o $@

test: deps
	@$(MAKE) --no-print-directory all $(UNITS) $(PROBES)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory vm

unit: $(UNITS)
	@tools/run-unit.sh $(UNITS)

integration: all $(PROBES)
	AIO_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration tests/security

vm: all
	@tools/vm/run.sh

bench: deps all
	@BUILD=$(BUILD) tools/bench/run.sh

# The default image: rootfs/build.sh, output in /var/cache/aio-rootfs (AIO_ROOTFS_CACHE), not here.
rootfs:
	@rootfs/build.sh

# IMAGE unset: the default image when built, else the host's; IMAGE=default builds it first.
run: deps
	@$(MAKE) --no-print-directory all
	@if [ '$(IMAGE)' = default ]; then $(MAKE) --no-print-directory rootfs; fi
	@img='$(IMAGE)'; \
	if [ -z "$$img" ] || [ "$$img" = default ]; then img=$$(rootfs/build.sh --find) || img=host; fi; \
	echo "make run: --rootfs $$img"; \
	exec $(BUILD)/bin/aio-run up --rootfs "$$img" --listen 127.0.0.1:8080

debug:
	@$(MAKE) --no-print-directory DEBUG=1 BUILD=build-debug all

fuzz:
	@tools/fuzz.sh

lint: all
	@tools/lint.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

headers-check:
	@for h in $$(git ls-files '*.h' | grep -v probes/); do \
		echo "#include \"$$h\"" | $(CC) $(CFLAGS) -x c -fsyntax-only -I. - || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/aio/policy \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	$(if $(BPFS),install -m 0644 $(BPFS) $(DESTDIR)$(PREFIX)/share/aio/policy/)
	install -m 0644 docs/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -d $(DESTDIR)$(PREFIX)/share/aio/rootfs $(DESTDIR)$(PREFIX)/share/aio/terminal
	$(if $(TERMINAL),install -m 0644 $(TERMINAL_DIR)/* $(DESTDIR)$(PREFIX)/share/aio/terminal/)
	cp -R rootfs/. $(DESTDIR)$(PREFIX)/share/aio/rootfs/

clean:
	rm -rf build build-debug

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
