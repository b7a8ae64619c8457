// Stylesheets are bundled by esbuild, which emits them beside the script.
declare module "*.css";
