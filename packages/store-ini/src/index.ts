export { editProfile, readProfile } from "./ini-editor.js";
export { type IniStore, type IniStoreOptions, iniStore } from "./ini-store.js";
export { type ListProfilesOptions, listProfiles } from "./list-profiles.js";
export { type ProfileResolutionError, type ResolvedProfile, type ResolveProfileOptions, resolveProfile } from "./resolve-profile.js";
