/** The product version, printed by `version` and exported as `trueconf_webhook_build_info`. */
export const VERSION = "0.1.0";
