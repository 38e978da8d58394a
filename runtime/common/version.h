#pragma once

/* The one version string of every aio binary. */
#define AIO_VERSION "0.1.0"
