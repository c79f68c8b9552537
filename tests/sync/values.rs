//! Values through sync: what one device writes reads the same on another.

use super::*;

#[wasm_bindgen_test]
async fn values_reach_the_other_device_exactly_both_ways() {
    js(r#"
        const token = await user();
        const a = await open({ notes: {} }, { token }), b = await open({ notes: {} }, { token });
        // Keys and values whose JSON text needs escapes, numbers at the edges of f64, nesting, an
        // empty key and one named like the row's own but for a space.
        const fields = { "qu\"ote": "a\u2028b\\c\u0000", "é🙂": [1.5e300, 5e-324, 2 ** 53 + 2, 0.1, -7],
          n: null, t: true, f: false, deep: { x: [[], {}, { y: "" }] }, "": "empty key", "id ": "not the id" };
        await a.put("notes", { id: "v1", ...fields });
        eq((await a.sync()).pushed, 1, "pushed");
        eq((await b.sync()).pulled, 1, "pulled");
        const strip = ({ _sync, ...rest }) => rest;
        eq(strip(await b.get("notes", "v1")), { id: "v1", ...fields }, "the record on the other device");
        // Back the other way: the pulled record edited (its fields were kept as text) and pushed.
        await b.put("notes", { ...strip(await b.get("notes", "v1")), added: "☃" });
        eq((await b.sync()).pushed, 1, "edit pushed");
        await a.sync();
        eq(strip(await a.get("notes", "v1")), { id: "v1", ...fields, added: "☃" }, "the edit on the first device");
        eq([a.status().pending, b.status().pending], [0, 0], "nothing pending");
        await cleanup(a, b);
    "#)
    .await;
}
