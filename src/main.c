/*
 * The h2api binary: the composition root of the example service. The core (the installed
 * library libh2api) runs the process; this file only adds the example app's routes (routes/).
 */
#include "h2api.h"
#include "routes/routes.h"

int main(int argc, char **argv)
{
    return h2api_main(argc, argv, h2api_routes_setup, NULL);
}
