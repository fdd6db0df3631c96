// A typedoc plugin: names a package's entry modules by their import paths. A package with several
// entry points (@keyup/core and @keyup/core/files) otherwise shows modules named after their files,
// `index` and `files`, which are no names a user can import.
import { Converter, ReflectionKind } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const pkg = context.project.packageName ?? context.project.name;
    for (const mod of context.project.getChildrenByKind(ReflectionKind.Module)) {
      // `index` is the package's main entry; any other is the subpath of the same name in its exports.
      mod.name = mod.name === "index" ? pkg : `${pkg}/${mod.name.replace(/\/index$/, "")}`;
    }
  });
}
