// The module is its header's inline function; SwiftPM builds a C target from at least one source.
#include "CPrefetch.h"
