/* placeholder, see step 4 */
