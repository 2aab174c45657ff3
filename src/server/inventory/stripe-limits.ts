/** Most documents a product's stock may be split over (stripes.ts); a module of its own so input schemas can import it anywhere. */
export const MAX_STRIPES = 64;
