// Start Swagger UI on the OpenAPI 3.0 rendition of the API document, because
// the bundled Swagger UI 4.15.5 renders OpenAPI 3.0 but not 3.1.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/v2/docs/openapi-3.0.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Swagger UI would otherwise load a validator badge image from a remote host.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
