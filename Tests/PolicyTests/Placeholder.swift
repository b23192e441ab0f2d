import Testing

// This module is filled by a later issue (see `issues`); its tests arrive with it.
