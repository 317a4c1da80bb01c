// The header of the system-library module CLibev (module.modulemap beside it).
#include <ev.h>
