#pragma once

/* cmocka.h needs these first; one header keeps the order out of clang-format's hands. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
