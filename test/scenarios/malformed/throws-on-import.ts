// @ts-nocheck — deliberately malformed, for the validation tests
throw new Error("this module is broken");
